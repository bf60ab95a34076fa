/*
 * vfs.h - file system access beneath a share directory.
 *
 * Purpose: the only way endpoint/ opens, creates, renames or removes a
 * file: every path is resolved relative to the share's directory fd with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), or, on kernels without
 * openat2, with a component-by-component O_NOFOLLOW walk.  Also maps errno
 * values to NTSTATUS in one table, and SMB path syntax to relative paths.
 *
 * Invariants: a path handed to the kernel never starts with '/' and never
 * contains "." or ".." components; every fd returned lies beneath dirfd.
 * Must never: call open/unlink/rename with a path that has not gone
 * through vfs_path_from_smb and one of these functions.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* SMB name (UTF-8, '\\'-separated, maybe with leading '\\') -> relative
 * path ('/'-separated, "" for the root).  -EINVAL for '.'/'..' components,
 * ':' (streams), or characters Windows forbids in names. */
int vfs_path_from_smb(const char *smb, char **ret);

/* openat2 beneath dirfd (path "" = dirfd itself).  Returns an fd or -errno. */
int vfs_open(int dirfd, const char *path, int flags, mode_t mode);
/* Open the parent directory of path beneath dirfd; *ret_base points into
 * path at the last component.  Returns an fd or -errno. */
int vfs_open_parent(int dirfd, const char *path, const char **ret_base);
int vfs_mkdir(int dirfd, const char *path, mode_t mode);
/* Remove path (a directory when dir is true). */
int vfs_unlink(int dirfd, const char *path, bool dir);
/* Rename beneath dirfd; replace: overwrite an existing target. */
int vfs_rename(int dirfd, const char *from, const char *to, bool replace);

/* NTSTATUS for an errno value (positive or negative). */
uint32_t vfs_status_from_errno(int err);
