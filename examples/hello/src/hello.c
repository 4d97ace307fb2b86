#include <stdio.h>
#include <zlib.h>

int main(void) {
    printf("hello from a reproducible build, zlib %s\n", zlibVersion());
    return 0;
}
