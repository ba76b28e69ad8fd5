/*
 * The tiny handler of the exec scenarios: the cheapest program a super-server can start, so
 * that what a run measures is the cost of starting it (accept, fork/spawn, exec, reap), not
 * the handler's own work. Its socket is on fd 1.
 */
#include <unistd.h>

int main(void)
{
    (void)!write(1, "hello\n", 6);
    return 0;
}
