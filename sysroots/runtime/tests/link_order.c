/* Link-order hazard: this object references a symbol of musl's __init_tls.lo before
 * __libc_start_main.lo is loaded. Had the runtime overridden only the weak __init_tls, musl's
 * member would be extracted first and its static_init_tls would silently run. */
#include <stdio.h>
#include "unimig_layout.h"
extern volatile int __thread_list_lock;
static __thread int v = 1;
int main(void)
{
	int ok = (unsigned long)&v == UNIMIG_TLS_MAIN_BLOCK;
	printf("link_order: lock %d, &v %p: %s\n", __thread_list_lock, (void *)&v, ok ? "ok" : "WRONG");
	return !ok;
}
