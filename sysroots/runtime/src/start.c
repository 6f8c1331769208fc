/*
 * Program start: argv, envp and auxv at a fixed address, main on a fixed machine stack.
 *
 * The kernel (or qemu-user) puts the initial stack, and with it argv, the argument strings,
 * environ and the auxiliary vector, at an address of its choosing: different on each ISA and,
 * with ASLR, in every run. All of these are observable (argv, argv[i], environ, getauxval's
 * strings, the address of a local in main), so before any program code runs the runtime moves
 * them into UNIMIG_MAIN_ARGS and switches to a machine stack just below it, both in the MSTACK
 * region (layout in unimig_layout.h):
 *
 *   musl's _start -> __libc_start_main -> __init_libc (TLS via tls.c, canary, __environ, ...)
 *   -> __unimig_start_main (here; the patched musl calls it instead of its stage 2)
 *   -> unimig_rt_start_on_stack (trampoline.S, one per ISA: sets the stack pointer, ends the
 *      unwind chain) -> musl's stage 2 on the new stack: constructors, exit(main(argc, argv,
 *      envp)).
 *
 * The copy keeps the kernel's shape (argc, argv[], NULL, envp[], NULL, auxv, then the strings,
 * argument strings and environment strings contiguous and in order), so code that relies on it
 * (envp == argv + argc + 1, setproctitle-style rewriting of the argument area) still works. The
 * auxv array has a fixed capacity so that the strings' addresses do not depend on how many
 * auxv entries the kernel (or qemu) supplied; the auxv data that lives on the initial stack
 * comes last, after the strings, in a fixed order (AT_RANDOM's 16 bytes, AT_EXECFN,
 * AT_PLATFORM, AT_BASE_PLATFORM), for the same reason (AT_PLATFORM differs per ISA, the entry
 * order between the kernel and qemu).
 *
 * The kernel's initial stack stays mapped but is unused once main runs.
 */
#include "rt_internal.h"
#include "musl_private.h"
#include "migrate.h"
#include <elf.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>

/* trampoline.S: sp = `sp` (= UNIMIG_MAIN_STACK_TOP), frame pointer and return address chain
 * ended, musl's constructors (__libc_start_init), then exit(main(argc, argv, envp)) with main
 * called at exactly that stack pointer, returning to __unimig_main_return (what musl's stage 2
 * does, with the stack layout docs/migration.md section 5 fixes). Never returns. */
_Noreturn void unimig_rt_start_on_stack(uintptr_t sp, int (*main)(int, char **, char **),
	int argc, char **argv) RT_HIDDEN;

/* The main stack mapping, guard included (for the migration-point handler's checks). */
uintptr_t unimig_rt_main_map_lo, unimig_rt_main_map_hi;

/* The supervisor's control variables (docs/migration.md section 1): the program does not see
 * them, so its environ is the one an unsupervised run has. Other UNIMIG_ variables (the
 * user's UNIMIG_PREFIX, say) are the program's. */
static int is_unimig_var(const char *s)
{
	static const char *const names[] = {
		"UNIMIG_CTL=", "UNIMIG_DIR=", "UNIMIG_MIGRATE_AT=", "UNIMIG_RESTORE=",
		"UNIMIG_COUNT_POINTS=",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strncmp(s, names[i], strlen(names[i])))
			return 1;
	return 0;
}

#ifndef AT_BASE_PLATFORM
#define AT_BASE_PLATFORM 24
#endif
#ifndef AT_RANDOM
#define AT_RANDOM 25
#endif
#ifndef AT_EXECFN
#define AT_EXECFN 31
#endif

/* One moved string (or byte range), to translate pointers musl took into the old copy. */
struct moved { const char *old; size_t len; char *new; };

static size_t main_stack_size(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_STACK, &rl) < 0)
		return UNIMIG_MAIN_STACK_DEFAULT;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= UNIMIG_MAIN_STACK_MAX)
		return UNIMIG_MAIN_STACK_MAX;
	size_t n = rt_page_up((uintptr_t)rl.rlim_cur);
	return n < UNIMIG_MAIN_STACK_MIN ? UNIMIG_MAIN_STACK_MIN : n;
}

static size_t round_up16(size_t x)
{
	return (x + 15) & ~(size_t)15;
}

static int aux_is_string(size_t type)
{
	return type == AT_EXECFN || type == AT_PLATFORM || type == AT_BASE_PLATFORM;
}

static char *translate(char *p, const struct moved *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p && p >= m[i].old && p <= m[i].old + m[i].len)
			return m[i].new + (p - m[i].old);
	return p;
}

_Noreturn int unimig_rt_start_main(unimig_musl_stage2_fn *stage2,
	int (*main)(int, char **, char **), int argc, char **argv)
{
	char **envp = argv + argc + 1;
	size_t envc = 0, kenvc = 0, auxn = 0, strings = 0, auxdata = 0, i;
	/* Migration control (UNIMIG_*), then restore mode: resume a checkpoint instead. */
	unimig_rt_ctl_init(envp);
	if (unimig_rt_ctl.restore)
		unimig_rt_restore(unimig_rt_ctl.restore);
	/* The program sees the environment without the UNIMIG_* variables. */
	for (; envp[kenvc]; kenvc++)
		envc += !is_unimig_var(envp[kenvc]);
	size_t *auxv = (size_t *)(envp + kenvc + 1);
	for (; auxv[2 * auxn] != AT_NULL; auxn++) {
		size_t type = auxv[2 * auxn], val = auxv[2 * auxn + 1];
		if (type == AT_RANDOM && val) auxdata += 16;
		else if (aux_is_string(type) && val) auxdata += strlen((char *)val) + 1;
	}
	if (auxn >= UNIMIG_MAIN_AUXV_SLOTS)
		unimig_rt_fatal_hex("too many auxiliary vector entries: ", auxn);
	for (i = 0; i < (size_t)argc; i++) strings += strlen(argv[i]) + 1;
	for (i = 0; i < kenvc; i++)
		if (!is_unimig_var(envp[i])) strings += strlen(envp[i]) + 1;

	/* Sizes and addresses. */
	size_t arrays = sizeof(long) + sizeof(char *) * ((size_t)argc + 1 + envc + 1)
		+ 2 * sizeof(size_t) * UNIMIG_MAIN_AUXV_SLOTS;
	size_t total = round_up16(arrays + strings) + auxdata;
	if (total > UNIMIG_MAIN_ARGS_MAX)
		unimig_rt_fatal_hex("arguments and environment too large: ", total);
	size_t stack = main_stack_size();
	uintptr_t lo = UNIMIG_MAIN_STACK_TOP - stack - UNIMIG_MAIN_STACK_GUARD;
	uintptr_t hi = rt_page_up(UNIMIG_MAIN_ARGS + total);
	long r = unimig_rt_sys_mmap(lo, hi - lo, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK | MAP_FIXED_NOREPLACE, -1, 0);
	if (r < 0 || (uintptr_t)r != lo)
		unimig_rt_fatal_hex("cannot map the main stack (address range taken?) at ", lo);
	if (unimig_rt_sys(SYS_mprotect, (long)lo, UNIMIG_MAIN_STACK_GUARD, PROT_NONE, 0, 0) < 0)
		unimig_rt_fatal_hex("cannot protect the main stack guard at ", lo);
	unimig_rt_main_map_lo = lo;
	unimig_rt_main_map_hi = hi;

	/* The copy. */
	long *nargc = (long *)UNIMIG_MAIN_ARGS;
	char **nargv = (char **)(nargc + 1);
	char **nenvp = nargv + argc + 1;
	size_t *nauxv = (size_t *)(nenvp + envc + 1);
	char *str = (char *)nauxv + 2 * sizeof(size_t) * UNIMIG_MAIN_AUXV_SLOTS;
	char *data = (char *)UNIMIG_MAIN_ARGS + round_up16(arrays + strings);
	struct moved moved[2];
	size_t nmoved = 0;

	*nargc = argc;
	for (i = 0; i < (size_t)argc; i++) {
		size_t n = strlen(argv[i]) + 1;
		memcpy(str, argv[i], n);
		nargv[i] = str;
		str += n;
	}
	nargv[argc] = 0;
	for (i = 0, envc = 0; i < kenvc; i++) {
		if (is_unimig_var(envp[i])) continue;
		size_t n = strlen(envp[i]) + 1;
		memcpy(str, envp[i], n);
		nenvp[envc++] = str;
		str += n;
	}
	nenvp[envc] = 0;
	/* musl's __progname_full is argv[0], or AT_EXECFN without one; __progname points into it. */
	if (argc > 0)
		moved[nmoved++] = (struct moved){ argv[0], strlen(argv[0]), nargv[0] };
	memcpy(nauxv, auxv, 2 * sizeof(size_t) * auxn);
	/* nauxv[2 * auxn ...] stay zero: AT_NULL, then padding up to the fixed capacity. */
	/* The auxv data in a fixed order (not the kernel's or qemu's entry order): AT_RANDOM's
	 * 16 bytes, so at a fixed place, then the strings. */
	static const size_t data_order[] = { AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_BASE_PLATFORM };
	for (size_t k = 0; k < sizeof data_order / sizeof data_order[0]; k++) {
		for (i = 0; i < auxn; i++) {
			size_t type = auxv[2 * i], val = auxv[2 * i + 1];
			if (type != data_order[k] || !val) continue;
			size_t n = type == AT_RANDOM ? 16 : strlen((char *)val) + 1;
			memcpy(data, (void *)val, n);
			nauxv[2 * i + 1] = (size_t)data;
			if (type == AT_EXECFN && nmoved < 2)
				moved[nmoved++] = (struct moved){ (char *)val, n - 1, data };
			data += n;
		}
	}

	/* What musl's __init_libc pointed at the old copy. */
	__environ = nenvp;
	__libc.auxv = nauxv;
	__progname_full = translate(__progname_full, moved, nmoved);
	__progname = translate(__progname, moved, nmoved);

	/* musl's pthread_getattr_np reports the main thread's stack from these (instead of
	 * probing below libc.auxv); h_errno becomes per-thread storage (musl uses a global while
	 * the main thread's .stack is 0), at a fixed address like the rest of the descriptor. */
	struct unimig_musl_pthread *self = (struct unimig_musl_pthread *)pthread_self();
	self->stack = (void *)UNIMIG_MAIN_STACK_TOP;
	self->stack_size = stack;
	self->guard_size = UNIMIG_MAIN_STACK_GUARD;

	/* Before constructors: instrumented code keeps its address-taken locals there. */
	unimig_rt_shadow_init();
	/* The request signal's handler (supervised runs only). musl's stage 2 is not used: the
	 * trampoline does its work so that main's frame sits at a fixed place. */
	(void)stage2;
	unimig_rt_ctl_signals();
	unimig_rt_start_on_stack(UNIMIG_MAIN_STACK_TOP, main, argc, nargv);
}

/* musl's hook: a strong definition, replacing musl's weak default. */
_Noreturn int __unimig_start_main(unimig_musl_stage2_fn *, int (*)(int, char **, char **), int,
	char **) __attribute__((__alias__("unimig_rt_start_main")));
