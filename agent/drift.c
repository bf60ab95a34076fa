/*
 * drift.c - the drift watch: inotify on the directories of the files the
 * plugins manage; a change to one of those files (written in place,
 * replaced by rename, removed) schedules a verify cycle after a short quiet
 * period (DRIFT_SETTLE_USEC), which reports drift and remediates it.
 *
 * Directories are watched rather than files because every well-behaved
 * writer (ours included) replaces files by rename, which would orphan a
 * watch on the old inode.  The agent's own applies trigger the watch too;
 * the verify that follows finds nothing to do, so no drift is reported.
 *
 * Invariants: at most one watch per directory; at most one pending verify
 * (later changes within the quiet period are folded into it).
 * Must never: run a cycle from inside the inotify callback (only from the
 * settle timer), or watch a path outside the engine's managed set.
 */
#include <libgen.h>
#include <sys/inotify.h>

#include "context.h"

#define DRIFT_SETTLE_USEC (200 * 1000ULL)
#define DRIFT_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE)

typedef struct DriftDir {
	char *dir;
	sd_event_source *source;
} DriftDir;

struct Drift {
	Context *ctx;
	char **paths; /* the watched files */
	DriftDir *dirs;
	size_t n_dirs;
	sd_event_source *settle; /* pending verify, or NULL */
	char *changed;           /* first changed path of the pending verify */
};

static void drift_clear_dirs(Drift *d) {
	for (size_t i = 0; i < d->n_dirs; i++) {
		sd_event_source_disable_unref(d->dirs[i].source);
		free(d->dirs[i].dir);
	}
	free(d->dirs);
	d->dirs = NULL;
	d->n_dirs = 0;
}

void drift_free(Drift *d) {
	if (!d)
		return;
	drift_clear_dirs(d);
	sd_event_source_disable_unref(d->settle);
	strv_free(d->paths);
	free(d->changed);
	free(d);
}

int drift_new(Context *c, Drift **ret) {
	Drift *d = calloc(1, sizeof(Drift));
	if (!d)
		return -ENOMEM;
	d->ctx = c;
	d->paths = calloc(1, sizeof(char *));
	if (!d->paths) {
		free(d);
		return -ENOMEM;
	}
	*ret = d;
	return 0;
}

static int on_settle(sd_event_source *s _unused_, uint64_t usec _unused_, void *userdata) {
	Drift *d = userdata;
	_cleanup_free_ char *path = TAKE_PTR(d->changed);
	d->settle = sd_event_source_disable_unref(d->settle);
	context_check_drift(d->ctx, path);
	return 0;
}

static int on_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
	Drift *d = userdata;
	if (ev->mask & IN_Q_OVERFLOW)
		return 0;
	if (!ev->len)
		return 0;
	const char *dir = NULL;
	for (size_t i = 0; i < d->n_dirs && !dir; i++)
		if (d->dirs[i].source == s)
			dir = d->dirs[i].dir;
	if (!dir)
		return 0;
	_cleanup_free_ char *path = strdup_printf("%s/%s", streq(dir, "/") ? "" : dir, ev->name);
	if (!path || !strv_contains(d->paths, path))
		return 0;
	if (!d->changed)
		d->changed = TAKE_PTR(path);
	if (d->settle)
		return 0; /* folded into the pending verify */
	return sd_event_add_time_relative(d->ctx->event, &d->settle, CLOCK_MONOTONIC,
					  DRIFT_SETTLE_USEC, 0, on_settle, d);
}

static bool dir_watched(const Drift *d, const char *dir) {
	for (size_t i = 0; i < d->n_dirs; i++)
		if (streq(d->dirs[i].dir, dir))
			return true;
	return false;
}

int drift_watch(Drift *d, char *const *paths) {
	if (strv_equal(d->paths, paths) && d->n_dirs > 0)
		return 0;
	char **copy = strv_copy(paths);
	if (!copy)
		return -ENOMEM;
	strv_free(d->paths);
	d->paths = copy;
	drift_clear_dirs(d);
	STRV_FOREACH(p, paths) {
		_cleanup_free_ char *tmp = strdup(*p);
		if (!tmp)
			return -ENOMEM;
		const char *dir = dirname(tmp);
		if (dir_watched(d, dir))
			continue;
		DriftDir *n = reallocarray(d->dirs, d->n_dirs + 1, sizeof(DriftDir));
		if (!n)
			return -ENOMEM;
		d->dirs = n;
		DriftDir dd = { strdup(dir), NULL };
		if (!dd.dir)
			return -ENOMEM;
		/* A missing directory is not watched (nothing there to drift). */
		if (sd_event_add_inotify(d->ctx->event, &dd.source, dir, DRIFT_MASK | IN_ONLYDIR,
					 on_inotify, d) < 0) {
			free(dd.dir);
			continue;
		}
		d->dirs[d->n_dirs++] = dd;
	}
	return (int)d->n_dirs;
}
