// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/state.h: the pool lock (same process and across
 * processes, waiting, timing out, naming the holder), loading and saving
 * every field, generations, permissions, O_NOFOLLOW, refusal of damaged
 * files, atomicity when rename fails or the writer dies before it (rename is
 * wrapped: tests/unit/test_state.ldflags), resizing and slot helpers.
 * Every state directory is a private temp directory.
 */
#include "testutil.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "state.h"

#define UUID_A "c7a5fdbd-edaf-9455-926a-d65c16db1809"
#define UUID_B "6f1c2a3e-9b7d-4c1e-8f2a-0123456789ab"
#define UUID_C "11111111-2222-3333-4444-555555555555"

/* ---- rename wrapper (linked with -Wl,--wrap=rename) ---- */

enum rename_mode {
	RENAME_REAL,
	RENAME_FAIL,  /* fail with EIO, as a full or read-only file system would */
	RENAME_CRASH, /* the writer is killed between write and rename */
};

static enum rename_mode rename_mode = RENAME_REAL;
static int rename_calls;

/* The state file is renamed into place relative to the state directory's fd. */
int __real_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	rename_calls++;
	switch (rename_mode) {
	case RENAME_FAIL:
		errno = EIO;
		return -1;
	case RENAME_CRASH:
		raise(SIGKILL);
		_exit(99);
	case RENAME_REAL:
		break;
	}
	return __real_renameat(olddirfd, oldpath, newdirfd, newpath);
}

/* ---- fixture ---- */

struct fx {
	char *tmp;
	char dir[PATH_MAX]; /* state directory, created by setup */
	char state_path[PATH_MAX];
	char lock_path[PATH_MAX];
	struct esfm_pool_state st, st2;
	struct esfm_state_lock lock, lock2;
	struct esfm_err err;
	char *before, *after; /* file snapshots, freed by teardown */
	pid_t child;
	int to_child; /* write end: closing it releases a holder child */
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->tmp = tu_mkdtemp();
	tu_path(fx->dir, "%s/run", fx->tmp);
	tu_path(fx->state_path, "%s/fpga0.state", fx->dir);
	tu_path(fx->lock_path, "%s/fpga0.lock", fx->dir);
	fx->lock.fd = fx->lock2.fd = -1;
	fx->to_child = -1;
	rename_mode = RENAME_REAL;
	rename_calls = 0;
	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_state_dir_ensure(fx->dir, &fx->err), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	rename_mode = RENAME_REAL;
	if (fx->to_child >= 0)
		close(fx->to_child);
	if (fx->child > 0) {
		kill(fx->child, SIGKILL);
		waitpid(fx->child, NULL, 0);
	}
	esfm_state_unlock(&fx->lock);
	esfm_state_unlock(&fx->lock2);
	esfm_state_clear(&fx->st);
	esfm_state_clear(&fx->st2);
	free(fx->before);
	free(fx->after);
	tu_rmtree(fx->tmp);
	free(fx);
	return 0;
}

static void assert_msg_contains(const struct esfm_err *err, const char *needle)
{
	if (!strstr(err->msg, needle))
		fail_msg("message '%s' does not mention '%s'", err->msg, needle);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		fail_msg("lstat %s: %s", path, strerror(errno));
	return st.st_mode;
}

/* Number of entries of @dir whose name contains ".tmp". */
static int count_temp_files(const char *dir)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strstr(de->d_name, ".tmp") != NULL;
	closedir(d);
	return n;
}

/* A 4-slot state of pool fpga0 on 0000:83:00.0 with one slot in each state. */
static void fill_state(struct esfm_pool_state *st)
{
	struct esfm_err err;

	memset(st, 0, sizeof(*st));
	snprintf(st->pool, sizeof(st->pool), "fpga0");
	st->pf = (struct esfm_pci_addr){0, 0x83, 0, 0};
	esfm_err_clear(&err);
	assert_int_equal(esfm_state_resize(st, 4, &err), 0);
	for (unsigned i = 0; i < 4; i++)
		st->vfs[i].addr = (struct esfm_pci_addr){0, 0x83, 0, (uint8_t)(i + 1)};
	snprintf(st->vfs[0].last_uuid, sizeof(st->vfs[0].last_uuid), UUID_C);
	esfm_state_set_owner(&st->vfs[1], ESFM_VF_RESERVED, ESFM_ORIGIN_HOOK, UUID_A, "everestg1",
			     "ua-esfm-fpga0-1");
	st->vfs[1].worker_pid = 31337;
	st->vfs[1].worker_start = 18446744073709551615ULL;
	esfm_state_set_owner(&st->vfs[2], ESFM_VF_ATTACHED, ESFM_ORIGIN_CLI, UUID_B,
			     "lab \"vm\" <2> & 'co' é", "ua-esfm-fpga0-2");
	snprintf(st->vfs[2].last_uuid, sizeof(st->vfs[2].last_uuid), UUID_A);
	esfm_state_set_owner(&st->vfs[3], ESFM_VF_PAUSED, ESFM_ORIGIN_HOOK, UUID_B,
			     "  spaced  name ", "ua-esfm-fpga0-3");
	for (unsigned i = 0; i < 4; i++)
		st->vfs[i].since = 1700000000LL + 100 * i;
}

static void assert_slot_equal(const struct esfm_vf_slot *a, const struct esfm_vf_slot *b)
{
	assert_int_equal(a->index, b->index);
	assert_int_equal(esfm_pci_addr_cmp(&a->addr, &b->addr), 0);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->origin, b->origin);
	assert_string_equal(a->uuid, b->uuid);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->alias, b->alias);
	assert_string_equal(a->last_uuid, b->last_uuid);
	assert_int_equal(a->since, b->since);
	assert_int_equal(a->worker_pid, b->worker_pid);
	assert_true(a->worker_start == b->worker_start);
}

static void assert_state_equal(const struct esfm_pool_state *a, const struct esfm_pool_state *b)
{
	assert_string_equal(a->pool, b->pool);
	assert_int_equal(esfm_pci_addr_cmp(&a->pf, &b->pf), 0);
	assert_int_equal(a->generation, b->generation);
	assert_int_equal(a->nvfs, b->nvfs);
	for (size_t i = 0; i < a->nvfs; i++)
		assert_slot_equal(&a->vfs[i], &b->vfs[i]);
}

/* In a forked child: a crash ends the child (cmocka would go on with the next test). */
static void child_signals_default(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
}

/* ---- lock holder child ---- */

/*
 * Fork a child that takes the lock of @pool as @who and writes 'L' (or 'E'
 * on failure) to the parent. It then holds the lock for @hold_ms, or with
 * @hold_ms < 0 until the parent closes fx->to_child, unlocks and exits 0.
 * Returns after the child reported.
 */
static void spawn_holder(struct fx *fx, const char *pool, const char *who, long hold_ms)
{
	int up[2], down[2];
	char c = 0;

	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	fx->child = fork();
	assert_true(fx->child >= 0);
	if (fx->child == 0) {
		struct esfm_state_lock l;
		struct esfm_err e;

		child_signals_default();
		close(up[0]);
		close(down[1]);
		if (esfm_state_lock(fx->dir, pool, who, 0, &l, &e) < 0) {
			(void)!write(up[1], "E", 1);
			_exit(1);
		}
		(void)!write(up[1], "L", 1);
		if (hold_ms >= 0) {
			struct timespec ts = {hold_ms / 1000, (hold_ms % 1000) * 1000000L};

			nanosleep(&ts, NULL);
		} else {
			while (read(down[0], &c, 1) > 0)
				;
		}
		esfm_state_unlock(&l);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	fx->to_child = down[1];
	assert_int_equal(read(up[0], &c, 1), 1);
	close(up[0]);
	assert_int_equal(c, 'L');
}

/* Release a holder started with hold_ms < 0 and reap it. */
static void reap_holder(struct fx *fx)
{
	int status;

	if (fx->to_child >= 0) {
		close(fx->to_child);
		fx->to_child = -1;
	}
	assert_int_equal(waitpid(fx->child, &status, 0), fx->child);
	fx->child = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- names and directory ---- */

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(esfm_vf_state_name(ESFM_VF_FREE), "free");
	assert_string_equal(esfm_vf_state_name(ESFM_VF_RESERVED), "reserved");
	assert_string_equal(esfm_vf_state_name(ESFM_VF_ATTACHED), "attached");
	assert_string_equal(esfm_vf_state_name(ESFM_VF_PAUSED), "paused");
	assert_non_null(esfm_vf_state_name((enum esfm_vf_state)42));
	assert_string_equal(esfm_vf_origin_name(ESFM_ORIGIN_HOOK), "hook");
	assert_string_equal(esfm_vf_origin_name(ESFM_ORIGIN_CLI), "cli");
	assert_non_null(esfm_vf_origin_name(ESFM_ORIGIN_NONE));
	assert_non_null(esfm_vf_origin_name((enum esfm_vf_origin)42));
}

static void test_dir_ensure_creates_0700(void **state)
{
	struct fx *fx = *state;
	char dir[PATH_MAX];
	mode_t old = umask(0);

	tu_path(dir, "%s/new-state", fx->tmp);
	if (esfm_state_dir_ensure(dir, &fx->err) != 0) {
		umask(old);
		fail_msg("%s", fx->err.msg);
	}
	umask(old);
	assert_true(S_ISDIR(mode_of(dir)));
	assert_int_equal(mode_of(dir) & 07777, 0700);
	/* The one setup created too. */
	assert_int_equal(mode_of(fx->dir) & 07777, 0700);
	/* Existing: fine, twice. */
	assert_int_equal(esfm_state_dir_ensure(dir, &fx->err), 0);
}

static void test_dir_ensure_refuses_symlink(void **state)
{
	struct fx *fx = *state;
	char link[PATH_MAX];

	tu_path(link, "%s/link-run", fx->tmp);
	tu_symlink(fx->dir, link);
	assert_int_equal(esfm_state_dir_ensure(link, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, link);
	assert_string_not_equal(fx->err.hint, "");

	/* A dangling symlink too (mkdir must not follow it either). */
	tu_path(link, "%s/dangling", fx->tmp);
	tu_symlink("/nonexistent/esfm-test-target", link);
	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_state_dir_ensure(link, &fx->err), -1);
	assert_false(tu_exists("/nonexistent/esfm-test-target"));
}

static void test_dir_ensure_refuses_file(void **state)
{
	struct fx *fx = *state;
	char file[PATH_MAX];

	tu_path(file, "%s/plain", fx->tmp);
	tu_write(file, "x");
	assert_int_equal(esfm_state_dir_ensure(file, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, file);
}

static void test_dir_ensure_missing_parent(void **state)
{
	struct fx *fx = *state;
	char dir[PATH_MAX];

	tu_path(dir, "%s/no/such/parent", fx->tmp);
	assert_int_equal(esfm_state_dir_ensure(dir, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_FAILED);
	assert_int_equal(fx->err.errnum, ENOENT);
}

#define FORGED                                                                                     \
	"<esfm-state version='1' pool='fpga0' pf='0000:83:00.0' generation='9'>"                   \
	"<vf index='0' address='0000:83:00.4' state='free' since='0'/></esfm-state>\n"

/* Whoever can write the state directory can forge a ledger: every entry point refuses it. */
static void assert_unsafe_dir_refused(struct fx *fx)
{
	tu_write(fx->state_path, FORGED);
	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_state_dir_ensure(fx->dir, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, fx->dir);
	assert_msg_contains(&fx->err, "unsafe");
	assert_string_not_equal(fx->err.hint, "");
	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "test", 0, &fx->lock, &fx->err), -1);
	assert_msg_contains(&fx->err, "unsafe");
	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err), -1);
	assert_msg_contains(&fx->err, "unsafe");
	esfm_err_clear(&fx->err);
	snprintf(fx->st2.pool, sizeof(fx->st2.pool), "fpga0");
	assert_int_equal(esfm_state_save(fx->dir, &fx->st2, &fx->err), -1);
	assert_msg_contains(&fx->err, "unsafe");
}

static void test_dir_writable_by_others_refused(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(chmod(fx->dir, 0777), 0);
	assert_unsafe_dir_refused(fx);
	assert_int_equal(chmod(fx->dir, 0770), 0);
	assert_unsafe_dir_refused(fx);
	assert_int_equal(chmod(fx->dir, 0755), 0);
	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err), 0);
	assert_int_equal(fx->st.generation, 9);
}

static void test_dir_owned_by_another_user_refused(void **state)
{
	struct fx *fx = *state;

	if (geteuid() != 0)
		skip(); /* only root can give a directory away */
	assert_int_equal(chown(fx->dir, 65534, 65534), 0);
	assert_unsafe_dir_refused(fx);
	assert_int_equal(chown(fx->dir, 0, 0), 0);
}

/* A FIFO (or a directory) in place of the state or lock file is refused without blocking. */
static void test_state_and_lock_must_be_regular_files(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(mkfifo(fx->state_path, 0600), 0);
	alarm(10); /* a blocked open fails the test instead of hanging it */
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err), -1);
	alarm(0);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, "is a FIFO, not a regular file");
	assert_msg_contains(&fx->err, fx->state_path);
	unlink(fx->state_path);
	tu_mkdirs(fx->lock_path);
	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "test", 0, &fx->lock, &fx->err), -1);
	assert_msg_contains(&fx->err, "is a directory, not a regular file");
	rmdir(fx->lock_path);
	assert_int_equal(mkfifo(fx->lock_path, 0600), 0);
	esfm_err_clear(&fx->err);
	alarm(10);
	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "test", 0, &fx->lock, &fx->err), -1);
	alarm(0);
	assert_msg_contains(&fx->err, "is a FIFO, not a regular file");
}

/* ---- lock ---- */

static void test_lock_unlock(void **state)
{
	struct fx *fx = *state;
	char want[128];

	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "esfm reconf", 0, &fx->lock, &fx->err),
			 0);
	assert_true(fx->lock.fd >= 0);
	assert_string_equal(fx->lock.pool, "fpga0");
	assert_true(S_ISREG(mode_of(fx->lock_path)));
	assert_int_equal(mode_of(fx->lock_path) & 07777, 0600);
	/* The holder is recorded while the lock is held... */
	snprintf(want, sizeof(want), "esfm reconf (pid %ld)\n", (long)getpid());
	tu_assert_file(fx->lock_path, want);
	esfm_state_unlock(&fx->lock);
	assert_int_equal(fx->lock.fd, -1);
	/* ...and cleared at unlock. */
	tu_assert_file(fx->lock_path, "");
	/* Unlocking twice is harmless. */
	esfm_state_unlock(&fx->lock);
	assert_int_equal(fx->lock.fd, -1);
	/* And the lock can be taken again. */
	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "again", 0, &fx->lock, &fx->err), 0);
}

static void test_lock_creates_state_dir(void **state)
{
	struct fx *fx = *state;
	char dir[PATH_MAX];

	tu_path(dir, "%s/fresh", fx->tmp);
	assert_int_equal(esfm_state_lock(dir, "fpga0", "t", 0, &fx->lock, &fx->err), 0);
	assert_int_equal(mode_of(dir) & 07777, 0700);
}

static void test_lock_busy_same_process(void **state)
{
	struct fx *fx = *state;
	char want[256];

	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "esfm reconf", 0, &fx->lock, &fx->err),
			 0);
	/* flock locks belong to the open file description: a second open conflicts. */
	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "hook", 0, &fx->lock2, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_BUSY);
	assert_int_equal(fx->lock2.fd, -1);
	snprintf(want, sizeof(want), "pool 'fpga0' is in use by esfm reconf (pid %ld)",
		 (long)getpid());
	assert_string_equal(fx->err.msg, want);
	assert_string_not_equal(fx->err.hint, "");
	/* The failed attempt did not disturb the holder's record. */
	snprintf(want, sizeof(want), "esfm reconf (pid %ld)\n", (long)getpid());
	tu_assert_file(fx->lock_path, want);

	esfm_state_unlock(&fx->lock);
	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "hook", 0, &fx->lock2, &fx->err), 0);
}

static void test_lock_pools_are_independent(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "a", 0, &fx->lock, &fx->err), 0);
	assert_int_equal(esfm_state_lock(fx->dir, "nic0", "b", 0, &fx->lock2, &fx->err), 0);
}

static void test_lock_busy_other_process(void **state)
{
	struct fx *fx = *state;
	char want[256];
	long long t0;

	spawn_holder(fx, "fpga0", "esfm reconf", -1);
	t0 = now_ms();
	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "esfm-hook", 0, &fx->lock, &fx->err),
			 -1);
	/* Timeout 0 tries once: no waiting. */
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(fx->err.cls, ESFM_ERR_BUSY);
	assert_int_equal(fx->lock.fd, -1);
	snprintf(want, sizeof(want), "pool 'fpga0' is in use by esfm reconf (pid %ld)",
		 (long)fx->child);
	assert_string_equal(fx->err.msg, want);
	assert_string_not_equal(fx->err.hint, "");
	reap_holder(fx);
	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "esfm-hook", 0, &fx->lock, &fx->err), 0);
}

static void test_lock_waits_for_release(void **state)
{
	struct fx *fx = *state;
	long long t0, waited;

	spawn_holder(fx, "fpga0", "holder", 300);
	t0 = now_ms();
	if (esfm_state_lock(fx->dir, "fpga0", "waiter", 5000, &fx->lock, &fx->err) != 0)
		fail_msg("lock not taken after release: %s", fx->err.msg);
	waited = now_ms() - t0;
	assert_true(fx->lock.fd >= 0);
	/* It did wait for the holder, and not for the whole timeout. */
	assert_true(waited >= 150);
	assert_true(waited < 4000);
	reap_holder(fx);
}

static void test_lock_times_out(void **state)
{
	struct fx *fx = *state;
	long long t0, waited;
	char want[256];

	spawn_holder(fx, "fpga0", "esfm reconf --pause", -1);
	t0 = now_ms();
	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "hook", 300, &fx->lock, &fx->err), -1);
	waited = now_ms() - t0;
	assert_int_equal(fx->err.cls, ESFM_ERR_BUSY);
	assert_true(waited >= 290);
	assert_true(waited < 3000);
	snprintf(want, sizeof(want),
		 "pool 'fpga0' is in use by esfm reconf --pause (pid %ld)",
		 (long)fx->child);
	assert_string_equal(fx->err.msg, want);
	reap_holder(fx);
}

static void test_lock_released_when_holder_dies(void **state)
{
	struct fx *fx = *state;
	int status;

	spawn_holder(fx, "fpga0", "doomed", -1);
	kill(fx->child, SIGKILL);
	assert_int_equal(waitpid(fx->child, &status, 0), fx->child);
	fx->child = 0;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "next", 0, &fx->lock, &fx->err), 0);
}

static void test_lock_refuses_symlinked_lock_file(void **state)
{
	struct fx *fx = *state;
	char target[PATH_MAX];

	tu_path(target, "%s/victim", fx->tmp);
	tu_write(target, "keep me");
	tu_symlink(target, fx->lock_path);
	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "t", 0, &fx->lock, &fx->err), -1);
	assert_int_not_equal(fx->err.cls, ESFM_ERR_NONE);
	assert_int_equal(fx->lock.fd, -1);
	tu_assert_file(target, "keep me");
}

static void test_lock_refuses_symlinked_dir(void **state)
{
	struct fx *fx = *state;
	char link[PATH_MAX];

	tu_path(link, "%s/link-run", fx->tmp);
	tu_symlink(fx->dir, link);
	assert_int_equal(esfm_state_lock(link, "fpga0", "t", 0, &fx->lock, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_false(tu_exists(fx->lock_path));
}

static void test_lock_invalid_pool_name(void **state)
{
	static const char *const names[] = {"../x", "a/b", "", ".", "..", "x y"};
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		esfm_err_clear(&fx->err);
		if (esfm_state_lock(fx->dir, names[i], "t", 0, &fx->lock, &fx->err) != -1)
			fail_msg("pool '%s' locked", names[i]);
		assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
		assert_int_equal(fx->lock.fd, -1);
	}
	/* Nothing was created next to the state directory. */
	assert_int_equal(tu_count_entries(fx->tmp), 1);
	assert_int_equal(tu_count_entries(fx->dir), 0);
}

/* ---- load and save ---- */

static void test_load_missing_is_empty(void **state)
{
	struct fx *fx = *state;

	memset(&fx->st, 0x5a, sizeof(fx->st));
	fx->st.vfs = NULL;
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err), 0);
	assert_string_equal(fx->st.pool, "fpga0");
	assert_int_equal(fx->st.nvfs, 0);
	assert_null(fx->st.vfs);
	assert_int_equal(fx->st.generation, 0);
	assert_int_equal(esfm_state_count_used(&fx->st), 0);
	assert_int_equal(fx->err.cls, ESFM_ERR_NONE);
	/* Loading creates nothing. */
	assert_int_equal(tu_count_entries(fx->dir), 0);
}

static void test_load_missing_dir_is_empty(void **state)
{
	struct fx *fx = *state;
	char dir[PATH_MAX];

	tu_path(dir, "%s/nope", fx->tmp);
	assert_int_equal(esfm_state_load(dir, "fpga0", &fx->st, &fx->err), 0);
	assert_int_equal(fx->st.nvfs, 0);
	assert_false(tu_exists(dir));
}

static void test_load_invalid_pool_name(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX];

	/* A valid state file where "../fpga0" would reach. */
	tu_path(path, "%s/fpga0.state", fx->tmp);
	tu_write(path, "<esfm-state version='1' pool='fpga0' pf='0000:83:00.0' generation='1'/>");
	assert_int_equal(esfm_state_load(fx->dir, "../fpga0", &fx->st, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_int_equal(esfm_state_load(fx->dir, "", &fx->st, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
}

static void test_save_load_round_trip(void **state)
{
	struct fx *fx = *state;

	fill_state(&fx->st);
	assert_int_equal(fx->st.generation, 0);
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	assert_true(rename_calls > 0); /* the wrapper is linked in */
	assert_int_equal(fx->st.generation, 1);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err), 0);
	assert_state_equal(&fx->st2, &fx->st);
	assert_int_equal(fx->st2.vfs[0].state, ESFM_VF_FREE);
	assert_int_equal(fx->st2.vfs[1].state, ESFM_VF_RESERVED);
	assert_int_equal(fx->st2.vfs[2].state, ESFM_VF_ATTACHED);
	assert_int_equal(fx->st2.vfs[3].state, ESFM_VF_PAUSED);
	assert_string_equal(fx->st2.vfs[2].name, "lab \"vm\" <2> & 'co' é");
	assert_string_equal(fx->st2.vfs[3].name, "  spaced  name ");
	assert_int_equal(esfm_state_count_used(&fx->st2), 3);
}

/* The busy mark of a long operation survives a save and a load; none is written when clear. */
static void test_busy_mark_round_trip(void **state)
{
	struct fx *fx = *state;

	fill_state(&fx->st);
	fx->st.busy.pid = 12345;
	fx->st.busy.start = 987654321ULL;
	fx->st.busy.since = 1700000000;
	snprintf(fx->st.busy.what, sizeof(fx->st.busy.what), "esfm reconf 3 \"x\" <&>");
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err), 0);
	assert_int_equal(fx->st2.busy.pid, 12345);
	assert_true(fx->st2.busy.start == 987654321ULL);
	assert_int_equal(fx->st2.busy.since, 1700000000);
	assert_string_equal(fx->st2.busy.what, "esfm reconf 3 \"x\" <&>");
	esfm_state_clear(&fx->st2);
	memset(&fx->st.busy, 0, sizeof(fx->st.busy));
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err), 0);
	assert_int_equal(fx->st2.busy.pid, 0);
}

static void test_round_trip_extremes(void **state)
{
	struct fx *fx = *state;
	char name[ESFM_DOM_NAME_MAX], alias[96];

	/* Longest name and alias the struct holds; pf with every field at its maximum. */
	memset(name, 'N', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(alias, 'a', sizeof(alias) - 1);
	alias[sizeof(alias) - 1] = '\0';
	snprintf(fx->st.pool, sizeof(fx->st.pool), "p.o-o_l");
	fx->st.pf = (struct esfm_pci_addr){0xffff, 0xff, 0x1f, 7};
	assert_int_equal(esfm_state_resize(&fx->st, 2, &fx->err), 0);
	esfm_state_set_owner(&fx->st.vfs[1], ESFM_VF_ATTACHED, ESFM_ORIGIN_CLI, UUID_A, name,
			     alias);
	fx->st.vfs[1].addr = (struct esfm_pci_addr){0xffff, 0xff, 0x1f, 7};
	fx->st.vfs[0].since = 0;
	fx->st.vfs[1].since = 4102444800LL; /* 2100-01-01 */
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	assert_int_equal(esfm_state_load(fx->dir, "p.o-o_l", &fx->st2, &fx->err), 0);
	assert_state_equal(&fx->st2, &fx->st);
}

static void test_round_trip_empty_state(void **state)
{
	struct fx *fx = *state;

	snprintf(fx->st.pool, sizeof(fx->st.pool), "fpga0");
	fx->st.pf = (struct esfm_pci_addr){0, 0x83, 0, 0};
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err), 0);
	assert_int_equal(fx->st2.nvfs, 0);
	assert_null(fx->st2.vfs);
	assert_int_equal(fx->st2.generation, 1);
	assert_int_equal(fx->st2.pf.bus, 0x83);
}

/* since is a long long of epoch seconds: a time after 2106 must survive too. */
static void test_round_trip_since_after_2106(void **state)
{
	struct fx *fx = *state;

	fill_state(&fx->st);
	fx->st.vfs[2].since = 5000000000LL; /* 2128 */
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err), 0);
	if (fx->st2.vfs[2].since != 5000000000LL)
		fail_msg("since 5000000000 saved, %lld loaded", fx->st2.vfs[2].since);
}

static void test_generation_increments(void **state)
{
	struct fx *fx = *state;

	fill_state(&fx->st);
	for (unsigned long g = 1; g <= 3; g++) {
		assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
		assert_int_equal(fx->st.generation, g);
		esfm_state_clear(&fx->st2);
		assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err), 0);
		assert_int_equal(fx->st2.generation, g);
	}
	/* Saving what was loaded continues the sequence. */
	assert_int_equal(esfm_state_save(fx->dir, &fx->st2, &fx->err), 0);
	assert_int_equal(fx->st2.generation, 4);
	esfm_state_clear(&fx->st);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err), 0);
	assert_int_equal(fx->st.generation, 4);
}

static void test_fixture_file_loads(void **state)
{
	struct fx *fx = *state;
	const char *top = getenv("ESFM_TOP");
	char src[PATH_MAX];

	tu_path(src, "%s/tests/unit/fixtures/state/fpga0.state", top && *top ? top : ".");
	fx->before = tu_slurp(src);
	tu_write(fx->state_path, fx->before);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err), 0);
	assert_int_equal(fx->st.generation, 41);
	assert_int_equal(fx->st.pf.bus, 0x83);
	assert_int_equal(fx->st.nvfs, 4);
	assert_int_equal(fx->st.vfs[0].state, ESFM_VF_FREE);
	assert_int_equal(fx->st.vfs[0].origin, ESFM_ORIGIN_NONE);
	assert_string_equal(fx->st.vfs[0].uuid, "");
	assert_string_equal(fx->st.vfs[0].last_uuid, UUID_C);
	assert_int_equal(fx->st.vfs[0].addr.fn, 1);
	assert_int_equal(fx->st.vfs[0].since, 1700000000LL);
	assert_int_equal(fx->st.vfs[1].state, ESFM_VF_RESERVED);
	assert_int_equal(fx->st.vfs[1].origin, ESFM_ORIGIN_HOOK);
	assert_string_equal(fx->st.vfs[1].uuid, UUID_A);
	assert_string_equal(fx->st.vfs[1].name, "everestg1");
	assert_string_equal(fx->st.vfs[1].alias, "ua-esfm-fpga0-1");
	assert_int_equal(fx->st.vfs[2].state, ESFM_VF_ATTACHED);
	assert_int_equal(fx->st.vfs[2].origin, ESFM_ORIGIN_CLI);
	assert_string_equal(fx->st.vfs[2].name, "lab \"vm\" <2> & co");
	assert_string_equal(fx->st.vfs[2].last_uuid, UUID_A);
	assert_int_equal(fx->st.vfs[3].state, ESFM_VF_PAUSED);
	assert_int_equal(fx->st.vfs[3].index, 3);
	assert_int_equal(fx->st.vfs[3].since, 1700000300LL);
	assert_int_equal(esfm_state_count_used(&fx->st), 3);

	/* Saved again, it loads the same with the next generation. */
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err), 0);
	assert_int_equal(fx->st2.generation, 42);
	assert_state_equal(&fx->st2, &fx->st);
}

static void test_file_mode_0600(void **state)
{
	struct fx *fx = *state;
	mode_t old = umask(0);
	int r;

	fill_state(&fx->st);
	r = esfm_state_save(fx->dir, &fx->st, &fx->err);
	umask(old);
	assert_int_equal(r, 0);
	assert_true(S_ISREG(mode_of(fx->state_path)));
	assert_int_equal(mode_of(fx->state_path) & 07777, 0600);
	/* Replacing keeps 0600 even if someone widened the old file. */
	assert_int_equal(chmod(fx->state_path, 0644), 0);
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	assert_int_equal(mode_of(fx->state_path) & 07777, 0600);
}

static void test_load_refuses_symlink(void **state)
{
	struct fx *fx = *state;
	char real[PATH_MAX];

	/* A perfectly valid state file, reached through a symlink. */
	fill_state(&fx->st);
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	tu_path(real, "%s/elsewhere.state", fx->tmp);
	assert_int_equal(rename(fx->state_path, real), 0);
	tu_symlink(real, fx->state_path);

	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err), -1);
	assert_int_not_equal(fx->err.cls, ESFM_ERR_NONE);
	assert_int_equal(fx->err.errnum, ELOOP);
	assert_int_equal(fx->st2.nvfs, 0);
	assert_null(fx->st2.vfs);
}

static void test_load_refuses_dangling_symlink(void **state)
{
	struct fx *fx = *state;

	/* Not "missing = empty": a dangling link is not an absent file. */
	tu_symlink("/nonexistent/esfm.state", fx->state_path);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err), -1);
	assert_int_not_equal(fx->err.cls, ESFM_ERR_NONE);
}

static void test_save_never_writes_through_symlink(void **state)
{
	struct fx *fx = *state;
	char victim[PATH_MAX];

	tu_path(victim, "%s/victim", fx->tmp);
	tu_write(victim, "keep me");
	tu_symlink(victim, fx->state_path);
	fill_state(&fx->st);
	/* Either refused or the link itself replaced; the target is never written. */
	if (esfm_state_save(fx->dir, &fx->st, &fx->err) == 0)
		assert_true(S_ISREG(mode_of(fx->state_path)));
	tu_assert_file(victim, "keep me");
}

static void test_save_removes_planted_temp_symlink(void **state)
{
	struct fx *fx = *state;
	char victim[PATH_MAX], tmp[PATH_MAX];

	struct stat st;

	/*
	 * Someone guessed the temp name (it contains our pid) and planted a
	 * symlink: under the lock, save removes leftovers at temp names, so the
	 * link goes away and is never followed.
	 */
	tu_path(victim, "%s/victim", fx->tmp);
	tu_write(victim, "keep me");
	tu_path(tmp, "%s.tmp.%ld", fx->state_path, (long)getpid());
	tu_symlink(victim, tmp);
	fill_state(&fx->st);
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	tu_assert_file(victim, "keep me");
	assert_false(tu_exists(tmp));
	assert_int_equal(lstat(fx->state_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

static void test_save_replaces_stale_temp_file(void **state)
{
	struct fx *fx = *state;
	char tmp[PATH_MAX];

	/* A regular temp file left by an earlier crash under the same pid. */
	tu_path(tmp, "%s.tmp.%ld", fx->state_path, (long)getpid());
	tu_write(tmp, "stale garbage");
	fill_state(&fx->st);
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	assert_false(tu_exists(tmp));
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err), 0);
	assert_state_equal(&fx->st2, &fx->st);
}

static void test_save_invalid_pool_name(void **state)
{
	struct fx *fx = *state;

	fill_state(&fx->st);
	snprintf(fx->st.pool, sizeof(fx->st.pool), "../evil");
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_int_equal(tu_count_entries(fx->tmp), 1);
}

static void test_save_missing_dir(void **state)
{
	struct fx *fx = *state;
	char dir[PATH_MAX];

	tu_path(dir, "%s/absent", fx->tmp);
	fill_state(&fx->st);
	assert_int_equal(esfm_state_save(dir, &fx->st, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_FAILED);
	assert_int_equal(fx->err.errnum, ENOENT);
}

/* ---- damaged files ---- */

struct bad_file {
	const char *why;
	const char *text;
	const char *needle; /* the message mentions it, if not NULL */
};

#define HEAD "<esfm-state version='1' pool='fpga0' pf='0000:83:00.0' generation='3'>\n"
#define VF0  "  <vf index='0' address='0000:83:00.1' state='free' since='1'/>\n"
#define TAIL "</esfm-state>\n"

static const struct bad_file bad_files[] = {
	{"empty file", "", NULL},
	{"not XML", "garbage\n", NULL},
	{"unclosed root", HEAD VF0, NULL},
	{"truncated in a tag", HEAD "  <vf index='0' address='0000:83:00.1' sta", NULL},
	{"wrong root", "<pool type='sriov'/>", NULL},
	{"bad pf", "<esfm-state version='1' pool='fpga0' pf='83:00.0' generation='3'>" TAIL,
	 "83:00.0"},
	{"no pf", "<esfm-state version='1' pool='fpga0' generation='3'>" TAIL, NULL},
	{"bad state name",
	 HEAD VF0 "  <vf index='1' address='0000:83:00.2' state='borrowed' uuid='" UUID_A
		  "' name='x'/>\n" TAIL,
	 "borrowed"},
	{"empty state name", HEAD VF0 "  <vf index='1' address='0000:83:00.2' state=''/>\n" TAIL,
	 NULL},
	{"missing state", HEAD VF0 "  <vf index='1' address='0000:83:00.2'/>\n" TAIL, NULL},
	{"reserved without owner",
	 HEAD VF0 "  <vf index='1' address='0000:83:00.2' state='reserved' name='x'/>\n" TAIL,
	 "owner"},
	{"attached without owner",
	 HEAD VF0 "  <vf index='1' address='0000:83:00.2' state='attached' uuid=''/>\n" TAIL,
	 "owner"},
	{"out of order", HEAD "  <vf index='1' address='0000:83:00.2' state='free'/>\n" VF0 TAIL,
	 "order"},
	{"gap", HEAD VF0 "  <vf index='2' address='0000:83:00.3' state='free'/>\n" TAIL, "order"},
	{"duplicate index", HEAD VF0 VF0 TAIL, "order"},
	{"missing index", HEAD "  <vf address='0000:83:00.1' state='free'/>\n" TAIL, "index"},
	{"negative index", HEAD "  <vf index='-1' address='0000:83:00.1' state='free'/>\n" TAIL,
	 "index"},
	{"bad vf address", HEAD "  <vf index='0' address='0000:83:00.x' state='free'/>\n" TAIL,
	 NULL},
	{"missing vf address", HEAD "  <vf index='0' state='free'/>\n" TAIL, NULL},
	{"address under an unbound prefix",
	 HEAD "  <vf index='0' x:address='0000:83:00.1' state='free'/>\n" TAIL, "PCI address"},
	/* esfm never writes a DTD: one could give a vf a state or an address it does not show. */
	{"attribute default from a DTD",
	 "<!DOCTYPE esfm-state [<!ATTLIST vf state CDATA 'free'>]>\n" HEAD
	 "  <vf index='0' address='0000:83:00.1'/>\n" TAIL,
	 "DOCTYPE"},
	{"entity from a DTD",
	 "<!DOCTYPE esfm-state [<!ENTITY a '0000:83:00.1'>]>\n" HEAD
	 "  <vf index='0' address='&a;' state='free'/>\n" TAIL,
	 "DOCTYPE"},
};

static void test_damaged_files_are_errors(void **state)
{
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		const struct bad_file *b = &bad_files[i];

		tu_write(fx->state_path, b->text);
		esfm_err_clear(&fx->err);
		if (esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err) != -1)
			fail_msg("%s: loaded as a state of %zu slots", b->why, fx->st.nvfs);
		if (fx->err.cls != ESFM_ERR_CONFIG)
			fail_msg("%s: class %d, '%s'", b->why, fx->err.cls, fx->err.msg);
		if (!strstr(fx->err.msg, fx->state_path))
			fail_msg("%s: message '%s' does not name the file", b->why, fx->err.msg);
		if (b->needle && !strstr(fx->err.msg, b->needle))
			fail_msg("%s: message '%s' does not mention '%s'", b->why, fx->err.msg,
				 b->needle);
		if (!fx->err.hint[0])
			fail_msg("%s: no hint", b->why);
		/* Never a half-filled state. */
		assert_int_equal(fx->st.nvfs, 0);
		assert_null(fx->st.vfs);
		/* The damaged file is left for inspection. */
		tu_assert_file(fx->state_path, b->text);
	}
}

static void test_truncated_save_is_an_error(void **state)
{
	struct fx *fx = *state;
	char *full;
	size_t len;

	/* Every proper prefix of a real state file is refused, never read as fewer slots. */
	fill_state(&fx->st);
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	full = tu_slurp(fx->state_path);
	fx->before = full;
	len = strlen(full);
	for (size_t cut = 0; cut + 2 < len; cut += 7) {
		tu_write_n(fx->state_path, full, cut);
		esfm_state_clear(&fx->st2);
		esfm_err_clear(&fx->err);
		if (esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err) != -1)
			fail_msg("file cut at %zu of %zu bytes loaded (%zu slots)", cut, len,
				 fx->st2.nvfs);
		assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	}
}

/*
 * Values that cannot be parsed must not be silently replaced by a default
 * either: an attached VF whose origin became "none" would never be released
 * by the hook (release filters by origin).
 */
static void test_bad_values_not_silently_defaulted(void **state)
{
	static const struct bad_file cases[] = {
		{"unknown origin",
		 HEAD VF0 "  <vf index='1' address='0000:83:00.2' state='attached' origin='bogus' "
			  "uuid='" UUID_A "' name='x' since='1'/>\n" TAIL,
		 NULL},
		{"bad since",
		 HEAD VF0 "  <vf index='1' address='0000:83:00.2' state='attached' origin='hook' "
			  "uuid='" UUID_A "' name='x' since='yesterday'/>\n" TAIL,
		 NULL},
		{"bad generation",
		 "<esfm-state version='1' pool='fpga0' pf='0000:83:00.0' generation='many'>\n" VF0
			 TAIL,
		 NULL},
	};
	struct fx *fx = *state;
	char bad[1024] = "";
	size_t len = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tu_write(fx->state_path, cases[i].text);
		esfm_state_clear(&fx->st);
		esfm_err_clear(&fx->err);
		if (esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err) == 0)
			len += (size_t)snprintf(bad + len, sizeof(bad) - len, "\n  %s: loaded",
						cases[i].why);
		else if (fx->err.cls != ESFM_ERR_CONFIG)
			len += (size_t)snprintf(bad + len, sizeof(bad) - len, "\n  %s: class %d",
						cases[i].why, fx->err.cls);
	}
	if (bad[0])
		fail_msg("damaged values accepted:%s", bad);
}

/* The "no owner" message must say which state the slot is in. */
static void test_no_owner_message(void **state)
{
	struct fx *fx = *state;

	tu_write(fx->state_path, HEAD VF0 "  <vf index='1' address='0000:83:00.2' state='reserved' "
					  "name='x' since='1700000000'/>\n" TAIL);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, "vf 1 is reserved but has no owner");
}

/* ---- atomicity ---- */

static void test_failed_rename_keeps_old_state(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(esfm_state_lock(fx->dir, "fpga0", "t", 0, &fx->lock, &fx->err), 0);
	fill_state(&fx->st);
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	fx->before = tu_slurp(fx->state_path);

	/* Change everything, then fail the rename. */
	esfm_state_set_owner(&fx->st.vfs[0], ESFM_VF_ATTACHED, ESFM_ORIGIN_CLI, UUID_C, "new",
			     "ua-esfm-fpga0-0");
	esfm_state_set_free(&fx->st.vfs[1]);
	rename_mode = RENAME_FAIL;
	rename_calls = 0;
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), -1);
	rename_mode = RENAME_REAL;
	assert_int_equal(rename_calls, 1);
	assert_int_equal(fx->err.cls, ESFM_ERR_FAILED);
	assert_int_equal(fx->err.errnum, EIO);

	/* The old file is untouched, byte for byte, and still loads. */
	tu_assert_file(fx->state_path, fx->before);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err), 0);
	assert_int_equal(fx->st2.generation, 1);
	assert_int_equal(fx->st2.vfs[0].state, ESFM_VF_FREE);
	assert_int_equal(fx->st2.vfs[1].state, ESFM_VF_RESERVED);
	assert_string_equal(fx->st2.vfs[1].uuid, UUID_A);
	/* No temp file left: only the state and lock files. */
	assert_int_equal(count_temp_files(fx->dir), 0);
	assert_int_equal(tu_count_entries(fx->dir), 2);

	/* The next save works. */
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	esfm_state_clear(&fx->st2);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err), 0);
	assert_int_equal(fx->st2.vfs[0].state, ESFM_VF_ATTACHED);
	assert_int_equal(count_temp_files(fx->dir), 0);
}

static void test_failed_first_save_leaves_nothing(void **state)
{
	struct fx *fx = *state;

	fill_state(&fx->st);
	rename_mode = RENAME_FAIL;
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), -1);
	rename_mode = RENAME_REAL;
	assert_int_equal(tu_count_entries(fx->dir), 0);
	/* Still "no state yet". */
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err), 0);
	assert_int_equal(fx->st2.nvfs, 0);
}

static void test_writer_killed_before_rename(void **state)
{
	struct fx *fx = *state;
	int status;

	fill_state(&fx->st);
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	fx->before = tu_slurp(fx->state_path);

	fx->child = fork();
	assert_true(fx->child >= 0);
	if (fx->child == 0) {
		struct esfm_err e;

		child_signals_default();
		/* New content fully written and synced, then killed before the rename. */
		esfm_state_set_owner(&fx->st.vfs[0], ESFM_VF_ATTACHED, ESFM_ORIGIN_CLI, UUID_C,
				     "new", "ua-esfm-fpga0-0");
		rename_mode = RENAME_CRASH;
		esfm_state_save(fx->dir, &fx->st, &e);
		_exit(0); /* rename was never reached */
	}
	assert_int_equal(waitpid(fx->child, &status, 0), fx->child);
	fx->child = 0;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("the writer was not killed in rename (status 0x%x)", status);

	/* The old state is intact and loads unchanged. */
	tu_assert_file(fx->state_path, fx->before);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err), 0);
	assert_int_equal(fx->st2.generation, 1);
	fx->st.generation = 1;
	assert_state_equal(&fx->st2, &fx->st);

	/* Life goes on: the next writer saves and loads normally. */
	assert_int_equal(esfm_state_save(fx->dir, &fx->st2, &fx->err), 0);
	esfm_state_clear(&fx->st);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err), 0);
	assert_int_equal(fx->st.generation, 2);
}

/* ---- resize and slot helpers ---- */

static void test_resize_grow(void **state)
{
	struct fx *fx = *state;
	time_t t0 = time(NULL);

	snprintf(fx->st.pool, sizeof(fx->st.pool), "fpga0");
	assert_int_equal(esfm_state_resize(&fx->st, 4, &fx->err), 0);
	assert_int_equal(fx->st.nvfs, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(fx->st.vfs[i].index, i);
		assert_int_equal(fx->st.vfs[i].state, ESFM_VF_FREE);
		assert_int_equal(fx->st.vfs[i].origin, ESFM_ORIGIN_NONE);
		assert_string_equal(fx->st.vfs[i].uuid, "");
		assert_string_equal(fx->st.vfs[i].last_uuid, "");
		assert_true(fx->st.vfs[i].since >= t0);
	}
	/* Growing keeps existing slots. */
	esfm_state_set_owner(&fx->st.vfs[3], ESFM_VF_ATTACHED, ESFM_ORIGIN_HOOK, UUID_A, "vm",
			     "ua-esfm-fpga0-3");
	assert_int_equal(esfm_state_resize(&fx->st, 64, &fx->err), 0);
	assert_int_equal(fx->st.nvfs, 64);
	assert_int_equal(fx->st.vfs[3].state, ESFM_VF_ATTACHED);
	assert_string_equal(fx->st.vfs[3].uuid, UUID_A);
	assert_int_equal(fx->st.vfs[63].index, 63);
	assert_int_equal(fx->st.vfs[63].state, ESFM_VF_FREE);
	assert_int_equal(esfm_state_count_used(&fx->st), 1);
	/* Same size: nothing changes. */
	assert_int_equal(esfm_state_resize(&fx->st, 64, &fx->err), 0);
	assert_int_equal(fx->st.nvfs, 64);
}

static void test_resize_shrink_free_slots(void **state)
{
	struct fx *fx = *state;

	fill_state(&fx->st);
	esfm_state_set_free(&fx->st.vfs[2]);
	esfm_state_set_free(&fx->st.vfs[3]);
	assert_int_equal(esfm_state_resize(&fx->st, 2, &fx->err), 0);
	assert_int_equal(fx->st.nvfs, 2);
	assert_int_equal(fx->st.vfs[1].state, ESFM_VF_RESERVED);
	esfm_state_set_free(&fx->st.vfs[1]);
	assert_int_equal(esfm_state_resize(&fx->st, 0, &fx->err), 0);
	assert_int_equal(fx->st.nvfs, 0);
	assert_int_equal(esfm_state_count_used(&fx->st), 0);
	/* And grows again from nothing. */
	assert_int_equal(esfm_state_resize(&fx->st, 1, &fx->err), 0);
	assert_int_equal(fx->st.vfs[0].index, 0);
}

static void test_resize_refuses_to_drop_held_slot(void **state)
{
	struct fx *fx = *state;

	fill_state(&fx->st);
	/* Slot 3 is paused by "  spaced  name ". */
	assert_int_equal(esfm_state_resize(&fx->st, 3, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_BUSY);
	assert_msg_contains(&fx->err, "fpga0");
	assert_msg_contains(&fx->err, "3");
	assert_msg_contains(&fx->err, "spaced  name");
	assert_string_not_equal(fx->err.hint, "");
	/* Nothing changed. */
	assert_int_equal(fx->st.nvfs, 4);
	assert_int_equal(fx->st.vfs[3].state, ESFM_VF_PAUSED);
	assert_string_equal(fx->st.vfs[3].uuid, UUID_B);

	/* Any held slot beyond n blocks, not just the last. */
	esfm_state_set_free(&fx->st.vfs[3]);
	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_state_resize(&fx->st, 1, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_BUSY);
	assert_msg_contains(&fx->err, "everestg1");
	assert_int_equal(fx->st.nvfs, 4);
	assert_int_equal(esfm_state_resize(&fx->st, 0, &fx->err), -1);
	assert_int_equal(fx->st.nvfs, 4);
}

static void test_set_owner_and_free(void **state)
{
	struct fx *fx = *state;
	struct esfm_vf_slot s;
	time_t t0 = time(NULL);

	(void)fx;
	memset(&s, 0, sizeof(s));
	s.index = 5;
	s.addr = (struct esfm_pci_addr){0, 0x83, 0, 6};
	esfm_state_set_owner(&s, ESFM_VF_RESERVED, ESFM_ORIGIN_HOOK, UUID_A, "vm one", NULL);
	assert_int_equal(s.state, ESFM_VF_RESERVED);
	assert_int_equal(s.origin, ESFM_ORIGIN_HOOK);
	assert_string_equal(s.uuid, UUID_A);
	assert_string_equal(s.name, "vm one");
	assert_string_equal(s.alias, "");
	assert_true(s.since >= t0);
	assert_int_equal(s.index, 5);

	esfm_state_set_owner(&s, ESFM_VF_ATTACHED, ESFM_ORIGIN_HOOK, UUID_A, "vm one",
			     "ua-esfm-fpga0-5");
	assert_string_equal(s.alias, "ua-esfm-fpga0-5");

	s.since = 0;
	esfm_state_set_free(&s);
	assert_int_equal(s.state, ESFM_VF_FREE);
	assert_int_equal(s.origin, ESFM_ORIGIN_NONE);
	assert_string_equal(s.uuid, "");
	assert_string_equal(s.name, "");
	assert_string_equal(s.alias, "");
	assert_string_equal(s.last_uuid, UUID_A);
	assert_true(s.since >= t0);
	/* Index and address belong to the slot, not the owner. */
	assert_int_equal(s.index, 5);
	assert_int_equal(s.addr.fn, 6);

	/* Freeing a free slot keeps the last owner. */
	esfm_state_set_free(&s);
	assert_string_equal(s.last_uuid, UUID_A);

	/* The next owner's release replaces it. */
	esfm_state_set_owner(&s, ESFM_VF_ATTACHED, ESFM_ORIGIN_CLI, UUID_B, "vm two", "a");
	esfm_state_set_free(&s);
	assert_string_equal(s.last_uuid, UUID_B);
}

static void test_set_free_survives_save(void **state)
{
	struct fx *fx = *state;

	fill_state(&fx->st);
	esfm_state_set_free(&fx->st.vfs[1]);
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err), 0);
	assert_int_equal(fx->st2.vfs[1].state, ESFM_VF_FREE);
	assert_string_equal(fx->st2.vfs[1].uuid, "");
	assert_string_equal(fx->st2.vfs[1].last_uuid, UUID_A);
}

static void test_count_used(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(esfm_state_count_used(&fx->st), 0);
	fill_state(&fx->st);
	assert_int_equal(esfm_state_count_used(&fx->st), 3);
	esfm_state_set_free(&fx->st.vfs[3]);
	assert_int_equal(esfm_state_count_used(&fx->st), 2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_names),
		T(test_dir_ensure_creates_0700),
		T(test_dir_ensure_refuses_symlink),
		T(test_dir_ensure_refuses_file),
		T(test_dir_ensure_missing_parent),
		T(test_dir_writable_by_others_refused),
		T(test_dir_owned_by_another_user_refused),
		T(test_state_and_lock_must_be_regular_files),
		T(test_lock_unlock),
		T(test_lock_creates_state_dir),
		T(test_lock_busy_same_process),
		T(test_lock_pools_are_independent),
		T(test_lock_busy_other_process),
		T(test_lock_waits_for_release),
		T(test_lock_times_out),
		T(test_lock_released_when_holder_dies),
		T(test_lock_refuses_symlinked_lock_file),
		T(test_lock_refuses_symlinked_dir),
		T(test_lock_invalid_pool_name),
		T(test_load_missing_is_empty),
		T(test_load_missing_dir_is_empty),
		T(test_load_invalid_pool_name),
		T(test_save_load_round_trip),
		T(test_busy_mark_round_trip),
		T(test_round_trip_extremes),
		T(test_round_trip_empty_state),
		T(test_round_trip_since_after_2106),
		T(test_generation_increments),
		T(test_fixture_file_loads),
		T(test_file_mode_0600),
		T(test_load_refuses_symlink),
		T(test_load_refuses_dangling_symlink),
		T(test_save_never_writes_through_symlink),
		T(test_save_removes_planted_temp_symlink),
		T(test_save_replaces_stale_temp_file),
		T(test_save_invalid_pool_name),
		T(test_save_missing_dir),
		T(test_damaged_files_are_errors),
		T(test_truncated_save_is_an_error),
		T(test_bad_values_not_silently_defaulted),
		T(test_no_owner_message),
		T(test_failed_rename_keeps_old_state),
		T(test_failed_first_save_leaves_nothing),
		T(test_writer_killed_before_rename),
		T(test_resize_grow),
		T(test_resize_shrink_free_slots),
		T(test_resize_refuses_to_drop_held_slot),
		T(test_set_owner_and_free),
		T(test_set_free_survives_save),
		T(test_count_used),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
