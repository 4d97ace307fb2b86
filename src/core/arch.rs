//! Architectures, named once: what a descriptor's `architectures` entry means for the base
//! image (Debian's name), the kernel (`uname -m`, LXC's `lxc.arch`), `setarch` and QEMU.
//! Everything else parses the strings it is given into an [`Arch`] and asks it.

/// A Debian architecture a base image and its guests can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    /// 32-bit x86.
    I386,
    /// 64-bit x86.
    Amd64,
    /// 64-bit ARM.
    Arm64,
}

impl Arch {
    /// Every architecture.
    pub const ALL: [Arch; 3] = [Arch::I386, Arch::Amd64, Arch::Arm64];

    /// Debian's, the kernel's or `setarch`'s name of an architecture (`amd64`, `x86_64`,
    /// `i686`, `linux32`, `aarch64`, ...). Not `linux64`: that depends on the host
    /// ([`Arch::from_descriptor`]).
    pub fn parse(name: &str) -> Option<Arch> {
        match name {
            "i386" | "i686" | "linux32" => Some(Arch::I386),
            "amd64" | "x86_64" => Some(Arch::Amd64),
            "arm64" | "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// A descriptor's architecture: as [`Arch::parse`], and Gitian's `linux64`, the 64-bit
    /// architecture of the host whose `uname -m` is `host` (`std::env::consts::ARCH`).
    pub fn from_descriptor(name: &str, host: &str) -> Option<Arch> {
        match name {
            "linux64" if host == "aarch64" => Some(Arch::Arm64),
            "linux64" => Some(Arch::Amd64),
            other => Arch::parse(other),
        }
    }

    /// Debian's name (`amd64`): base images, packages.
    pub fn debian(self) -> &'static str {
        match self {
            Arch::I386 => "i386",
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The kernel's name (`uname -m`, LXC's `lxc.arch`).
    pub fn kernel(self) -> &'static str {
        match self {
            Arch::I386 => "i686",
            Arch::Amd64 => "x86_64",
            Arch::Arm64 => "aarch64",
        }
    }

    /// Word size in bits.
    pub fn bits(self) -> u32 {
        match self {
            Arch::I386 => 32,
            Arch::Amd64 | Arch::Arm64 => 64,
        }
    }

    /// The QEMU system emulator that runs it.
    pub fn qemu_system(self) -> &'static str {
        match self {
            Arch::I386 => "qemu-system-i386",
            Arch::Amd64 => "qemu-system-x86_64",
            Arch::Arm64 => "qemu-system-aarch64",
        }
    }

    /// Whether `setarch <personality>` is known to change nothing for a process of this
    /// 64-bit architecture (`x86_64` or `linux64` on amd64: the personality every process
    /// already has). Never on a 32-bit one, where `setarch` may set what `uname -m` says.
    pub fn is_native_personality(self, personality: &str) -> bool {
        self.bits() == 64 && (personality == "linux64" || personality == self.kernel())
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.debian())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for a in Arch::ALL {
            assert_eq!(Arch::parse(a.debian()), Some(a));
            assert_eq!(Arch::parse(a.kernel()), Some(a));
        }
        assert_eq!(Arch::parse("linux32"), Some(Arch::I386));
        assert_eq!(Arch::parse("linux64"), None);
        assert_eq!(Arch::parse("armhf"), None);
    }

    #[test]
    fn linux64_is_the_hosts_64_bit_architecture() {
        assert_eq!(Arch::from_descriptor("linux64", "x86_64"), Some(Arch::Amd64));
        assert_eq!(Arch::from_descriptor("linux64", "aarch64"), Some(Arch::Arm64));
        assert_eq!(Arch::from_descriptor("i386", "aarch64"), Some(Arch::I386));
    }

    #[test]
    fn what_each_tool_calls_it() {
        let row = |a: Arch| (a.debian(), a.kernel(), a.bits(), a.qemu_system());
        assert_eq!(row(Arch::I386), ("i386", "i686", 32, "qemu-system-i386"));
        assert_eq!(row(Arch::Amd64), ("amd64", "x86_64", 64, "qemu-system-x86_64"));
        assert_eq!(row(Arch::Arm64), ("arm64", "aarch64", 64, "qemu-system-aarch64"));
        // Messages name an architecture as Debian does.
        assert_eq!(format!("{} and {}", Arch::I386, Arch::Arm64), "i386 and arm64");
    }

    #[test]
    fn native_personalities() {
        assert!(Arch::Amd64.is_native_personality("x86_64"));
        assert!(Arch::Amd64.is_native_personality("linux64"));
        assert!(!Arch::Amd64.is_native_personality("i386"));
        assert!(!Arch::I386.is_native_personality("linux64"));
        assert!(!Arch::I386.is_native_personality("i386"));
        assert!(!Arch::Arm64.is_native_personality("x86_64"));
    }
}
