//! Gitian descriptors (spec §1): parse, validate with file/line/field errors.
