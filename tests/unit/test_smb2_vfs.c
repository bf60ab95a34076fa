/*
 * test_smb2_vfs.c - endpoint/vfs.c: SMB path syntax, opens that stay
 * beneath the share (symlinks out, absolute links and ".." refused; the
 * O_NOFOLLOW fallback walk too), rename/unlink through the parent, and
 * the errno -> NTSTATUS table; endpoint/ratelimit.c: per-address backlog.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "server.h"
#include "vfs.h"

/* the fallback walk, reached directly */
#include "../../endpoint/vfs.c"

typedef struct Fixture {
	char root[64], outside[80];
	int dirfd;
} Fixture;

static int setup(void **state) {
	Fixture *f = calloc(1, sizeof(*f));
	strcpy(f->root, "/tmp/test_smb2_vfs.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	char p[256];
	snprintf(p, sizeof(p), "%s/share", f->root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(f->outside, sizeof(f->outside), "%s/secret", f->root);
	close(open(f->outside, O_CREAT | O_WRONLY, 0600));
	snprintf(p, sizeof(p), "%s/share/sub", f->root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/share/sub/f", f->root);
	close(open(p, O_CREAT | O_WRONLY, 0600));
	snprintf(p, sizeof(p), "%s/share/escape", f->root);
	assert_int_equal(symlink("../secret", p), 0);
	snprintf(p, sizeof(p), "%s/share/abs", f->root);
	assert_int_equal(symlink(f->outside, p), 0);
	snprintf(p, sizeof(p), "%s/share", f->root);
	f->dirfd = open(p, O_PATH | O_DIRECTORY);
	assert_true(f->dirfd >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state) {
	Fixture *f = *state;
	char cmd[128];
	close(f->dirfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void test_path_syntax(void **state) {
	(void)state;
	char *p;
	assert_int_equal(vfs_path_from_smb("\\sub\\f", &p), 0);
	assert_string_equal(p, "sub/f");
	free(p);
	assert_int_equal(vfs_path_from_smb("", &p), 0);
	assert_string_equal(p, "");
	free(p);
	assert_int_equal(vfs_path_from_smb("sub\\..\\..\\secret", &p), -EINVAL);
	assert_int_equal(vfs_path_from_smb("a/b", &p), -EINVAL);
	assert_int_equal(vfs_path_from_smb("file:stream", &p), -EINVAL);
	assert_int_equal(vfs_path_from_smb("a\\\\b", &p), -EINVAL);
	assert_int_equal(vfs_path_from_smb(".", &p), -EINVAL);
}

static void test_beneath(void **state) {
	Fixture *f = *state;
	int fd = vfs_open(f->dirfd, "sub/f", O_RDONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_true(vfs_open(f->dirfd, "escape", O_RDONLY, 0) < 0);
	assert_true(vfs_open(f->dirfd, "abs", O_RDONLY, 0) < 0);
	assert_true(vfs_open(f->dirfd, "../secret", O_RDONLY, 0) < 0);
	/* the fallback walk refuses every symlink */
	assert_true(open_walk(f->dirfd, "escape", O_RDONLY, 0) < 0);
	fd = open_walk(f->dirfd, "sub/f", O_RDONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	/* creating through an escaping link is refused too */
	assert_true(vfs_open(f->dirfd, "escape", O_RDWR | O_CREAT, 0644) < 0);
	assert_int_equal(vfs_unlink(f->dirfd, "", false), -EACCES);
}

static void test_rename_unlink(void **state) {
	Fixture *f = *state;
	assert_int_equal(vfs_rename(f->dirfd, "sub/f", "g", false), 0);
	int fd = vfs_open(f->dirfd, "g", O_RDONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vfs_mkdir(f->dirfd, "d", 0755), 0);
	assert_int_equal(vfs_rename(f->dirfd, "g", "d", false), -EEXIST);
	assert_int_equal(vfs_unlink(f->dirfd, "g", false), 0);
	assert_int_equal(vfs_unlink(f->dirfd, "d", true), 0);
	/* unlinking the link removes the link, never its target */
	assert_int_equal(vfs_unlink(f->dirfd, "escape", false), 0);
	assert_int_equal(access(f->outside, F_OK), 0);
}

static void test_status_table(void **state) {
	(void)state;
	assert_int_equal(vfs_status_from_errno(-ENOENT), NT_STATUS_OBJECT_NAME_NOT_FOUND);
	assert_int_equal(vfs_status_from_errno(EXDEV), NT_STATUS_ACCESS_DENIED);
	assert_int_equal(vfs_status_from_errno(ENOTEMPTY), NT_STATUS_DIRECTORY_NOT_EMPTY);
	assert_int_equal(vfs_status_from_errno(EPIPE), NT_STATUS_IO_DEVICE_ERROR);
}

static void test_ratelimit(void **state) {
	(void)state;
	RateLimiter *rl;
	assert_int_equal(ratelimit_new(&rl), 0);
	struct sockaddr_storage a = { .ss_family = AF_INET }, b = { .ss_family = AF_INET };
	((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(0x7f000001);
	((struct sockaddr_in *)&b)->sin_addr.s_addr = htonl(0x0a000001);
	uint64_t t;
	assert_int_equal(ratelimit_failure(rl, &a, 1000, 2000, &t), 0);
	assert_true(t == 3000);
	/* a second failure from the same address queues behind the first */
	assert_int_equal(ratelimit_failure(rl, &a, 1500, 2000, &t), 0);
	assert_true(t == 5000);
	/* another address is not affected */
	assert_int_equal(ratelimit_failure(rl, &b, 1500, 2000, &t), 0);
	assert_true(t == 3500);
	/* after the release, back to one delay */
	assert_int_equal(ratelimit_failure(rl, &a, 10000, 2000, &t), 0);
	assert_true(t == 12000);
	/* the backlog is bounded */
	int r = 0;
	for (int i = 0; i < 100 && r == 0; i++)
		r = ratelimit_failure(rl, &a, 10000, RATELIMIT_MAX_BACKLOG_USEC / 10, &t);
	assert_int_equal(r, -EBUSY);
	ratelimit_free(rl);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_syntax),
		cmocka_unit_test_setup_teardown(test_beneath, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_unlink, setup, teardown),
		cmocka_unit_test(test_status_table),
		cmocka_unit_test(test_ratelimit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
