/*
 * vfs.c - file system access beneath a share directory (see vfs.h).
 *
 * Invariants: every open goes through open_beneath(); the fallback walk
 * opens each directory component with O_NOFOLLOW so no symlink is followed
 * when openat2 is missing.
 * Must never: follow a path out of the share, or use a path relative to the
 * process's working directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "smb2_pdu.h"
#include "util.h"
#include "vfs.h"

int vfs_path_from_smb(const char *smb, char **ret) {
	while (*smb == '\\' || *smb == '/')
		smb++;
	char *p = strdup(smb);
	if (!p)
		return -ENOMEM;
	size_t n = strlen(p);
	while (n > 0 && p[n - 1] == '\\')
		p[--n] = 0;
	for (char *s = p; *s; s++) {
		if (*s == '\\')
			*s = '/';
		else if (*s == '/' || *s == ':' || *s == '*' || *s == '?' || *s == '"' || *s == '<' ||
			 *s == '>' || *s == '|' || (unsigned char)*s < 0x20) {
			free(p);
			return -EINVAL;
		}
	}
	/* no empty, "." or ".." components */
	for (char *s = p; *p;) {
		char *e = strchrnul(s, '/');
		size_t len = (size_t)(e - s);
		if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) {
			free(p);
			return -EINVAL;
		}
		if (!*e)
			break;
		s = e + 1;
	}
	*ret = p;
	return 0;
}

/* Fallback for kernels without openat2: walk with O_NOFOLLOW. */
static int open_walk(int dirfd, const char *path, int flags, mode_t mode) {
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	_cleanup_close_ int cur = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	char *s = copy;
	for (;;) {
		char *slash = strchr(s, '/');
		if (!slash)
			break;
		*slash = 0;
		int next = openat(cur, s, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return -errno;
		close(cur);
		cur = next;
		s = slash + 1;
	}
	int fd = openat(cur, s, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	return fd < 0 ? -errno : fd;
}

int vfs_open(int dirfd, const char *path, int flags, mode_t mode) {
	if (!*path)
		path = ".";
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS)
		return -errno;
	return open_walk(dirfd, path, flags, mode);
}

int vfs_open_parent(int dirfd, const char *path, const char **ret_base) {
	const char *slash = strrchr(path, '/');
	if (!slash) {
		*ret_base = path;
		return vfs_open(dirfd, "", O_PATH | O_DIRECTORY, 0);
	}
	_cleanup_free_ char *dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	*ret_base = slash + 1;
	return vfs_open(dirfd, dir, O_PATH | O_DIRECTORY, 0);
}

int vfs_mkdir(int dirfd, const char *path, mode_t mode) {
	const char *base;
	_cleanup_close_ int pfd = vfs_open_parent(dirfd, path, &base);
	if (pfd < 0)
		return pfd;
	return mkdirat(pfd, base, mode) < 0 ? -errno : 0;
}

int vfs_unlink(int dirfd, const char *path, bool dir) {
	const char *base;
	if (!*path)
		return -EACCES; /* the share root itself */
	_cleanup_close_ int pfd = vfs_open_parent(dirfd, path, &base);
	if (pfd < 0)
		return pfd;
	return unlinkat(pfd, base, dir ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
}

int vfs_rename(int dirfd, const char *from, const char *to, bool replace) {
	const char *fbase, *tbase;
	if (!*from || !*to)
		return -EACCES;
	_cleanup_close_ int ffd = vfs_open_parent(dirfd, from, &fbase);
	if (ffd < 0)
		return ffd;
	_cleanup_close_ int tfd = vfs_open_parent(dirfd, to, &tbase);
	if (tfd < 0)
		return tfd;
	if (renameat2(ffd, fbase, tfd, tbase, replace ? 0 : RENAME_NOREPLACE) < 0)
		return -errno;
	return 0;
}

static const struct {
	int err;
	uint32_t status;
} errno_table[] = {
	{ ENOENT, NT_STATUS_OBJECT_NAME_NOT_FOUND },
	{ ENOTDIR, NT_STATUS_OBJECT_PATH_NOT_FOUND },
	{ EEXIST, NT_STATUS_OBJECT_NAME_COLLISION },
	{ EACCES, NT_STATUS_ACCESS_DENIED },
	{ EPERM, NT_STATUS_ACCESS_DENIED },
	{ EROFS, NT_STATUS_ACCESS_DENIED },
	{ EXDEV, NT_STATUS_ACCESS_DENIED }, /* RESOLVE_BENEATH: would leave the share */
	{ ELOOP, NT_STATUS_ACCESS_DENIED },
	{ EISDIR, NT_STATUS_FILE_IS_A_DIRECTORY },
	{ ENOTEMPTY, NT_STATUS_DIRECTORY_NOT_EMPTY },
	{ ENOSPC, NT_STATUS_DISK_FULL },
	{ EDQUOT, NT_STATUS_DISK_FULL },
	{ ENAMETOOLONG, NT_STATUS_OBJECT_NAME_INVALID },
	{ EINVAL, NT_STATUS_INVALID_PARAMETER },
	{ EBADF, NT_STATUS_INVALID_HANDLE },
	{ ENOMEM, NT_STATUS_NO_MEMORY },
	{ EMFILE, NT_STATUS_INSUFFICIENT_RESOURCES },
	{ ENFILE, NT_STATUS_INSUFFICIENT_RESOURCES },
	{ EBUSY, NT_STATUS_SHARING_VIOLATION },
	{ EFBIG, NT_STATUS_DISK_FULL },
};

uint32_t vfs_status_from_errno(int err) {
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < ELEMENTSOF(errno_table); i++)
		if (errno_table[i].err == err)
			return errno_table[i].status;
	return NT_STATUS_IO_DEVICE_ERROR;
}
