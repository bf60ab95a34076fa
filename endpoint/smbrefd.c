/*
 * smbrefd.c - the reference SMB2/3 server: command line, the Context
 * (Server), worker threads, signals.
 *
 * Architecture: main() only calls run().  run() reads the policy (the
 * resolved policy document, config.c), the users file and the shares, binds
 * one listening socket per --listen address in every worker (SO_REUSEPORT),
 * then starts N worker threads (one per CPU) that each run their own
 * sd-event loop with their own connections: a connection never changes
 * thread, so crypto work spreads over the cores without locks on the hot
 * path; large encrypted responses (READ data) also go to a crypto pool
 * (crypto_pool.c) so a single connection uses every core.  TCP, QUIC
 * (transport_quic.c) and SMB Direct (transport_rdma.c) all end in the same
 * Conn (conn.c).  The main thread only handles signals: SIGHUP re-reads the policy
 * (and users file, and reopens the audit log) and tells every worker, which
 * re-checks its connections (conn_policy_changed); SIGTERM/SIGINT stop the
 * workers and exit.  A --listen without a port takes the policy's
 * server.transport.*.port; a reload that moves such a port re-executes
 * smbrefd in place (same pid) so it listens on the new port only.
 *
 *   smbrefd --policy FILE --listen tcp|quic|rdma:ADDR[:PORT] [--listen ...]
 *           --share NAME=DIR [--share ...] --users FILE
 *           [--audit-log FILE] [--host NAME] [--pid-file FILE] [--keytab FILE]
 *           [--rdma-provider NAME]
 *
 * Invariants: the Config a worker uses is replaced only on its own thread;
 * a failed reload leaves the old policy in force (and says so on stderr).
 * Must never: listen on an address not given by --listen; run without a
 * valid policy.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "server.h"
#include "transport_quic.h"
#include "transport_rdma.h"

#define SMBREFD_VERSION "0.1"
#define MAX_WORKERS 16

/* ---- command line ---- */

/* Each transport's port in the policy, for a --listen without one. */
static unsigned policy_port(const Config *c, const Listen *l) {
	return l->quic ? c->quic_port : l->rdma ? c->rdma_port : c->tcp_port;
}

static int parse_listen(const char *text, const Config *config, Listen *ret) {
	/* tcp:, quic: or rdma:ADDR[:PORT], ADDR an IPv4 address or [IPv6];
	 * no PORT: server.transport.<transport>.port of the policy */
	const char *a = text + 4;
	bool quic = transport_quic_is_listen(text, &a);
	bool rdma = !quic && transport_rdma_is_listen(text, &a);
	if (!quic && !rdma && !startswith(text, "tcp:"))
		return -EPROTONOSUPPORT;
	Listen l = { .quic = quic, .rdma = rdma };
	const char *colon = strrchr(a, ':');
	if (colon && a[0] == '[' && colon[-1] != ']')
		colon = NULL; /* [v6] without a port: the colon is the address's */
	long long port;
	if (!colon) {
		l.port_from_policy = true;
		port = policy_port(config, &l);
		colon = a + strlen(a);
	} else if (parse_int64(colon + 1, &port) < 0 || port < 1 || port > 65535)
		return -EINVAL;
	_cleanup_free_ char *host = strndup(a, (size_t)(colon - a));
	if (!host)
		return -ENOMEM;
	size_t hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&l.addr;
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		l.addr_len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&l.addr;
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		l.addr_len = sizeof(*s4);
	}
	l.text = l.port_from_policy ? strdup_printf("%s:%lld", text, port) : strdup(text);
	if (!l.text)
		return -ENOMEM;
	*ret = l;
	return 0;
}

/* A reloaded policy moved the port of a listener that follows the policy:
 * the new port is served only after a restart (run() re-executes). */
static bool ports_moved(const Server *s, const Config *n) {
	bool moved = false;
	for (size_t i = 0; i < s->n_listens; i++) {
		const Listen *l = &s->listens[i];
		unsigned was = policy_port(s->config, l), now = policy_port(n, l);
		if (l->port_from_policy && was != now) {
			fprintf(stderr, "smbrefd: %s: the policy moves this listener to port %u\n", l->text, now);
			moved = true;
		}
	}
	return moved;
}

static int parse_share(const char *text, Share *ret) {
	const char *eq = strchr(text, '=');
	if (!eq || eq == text || !eq[1])
		return -EINVAL;
	Share s = { .name = strndup(text, (size_t)(eq - text)), .path = strdup(eq + 1), .dirfd = -1 };
	if (!s.name || !s.path) {
		free(s.name);
		free(s.path);
		return -ENOMEM;
	}
	s.dirfd = open(s.path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s.dirfd < 0) {
		int r = -errno;
		free(s.name);
		free(s.path);
		return r;
	}
	*ret = s;
	return 0;
}

static void help(void) {
	printf("Usage: smbrefd --policy FILE --listen tcp:ADDR[:PORT] [--listen ...]\n"
	       "               --share NAME=DIR [--share ...] --users FILE\n"
	       "               [--audit-log FILE] [--host NAME] [--pid-file FILE]\n"
	       "               [--keytab FILE] [--rdma-provider NAME]\n\n"
	       "Reference SMB 2.0.2-3.1.1 server enforcing the resolved policy FILE\n"
	       "(`smbpolicy rsop HOST --xml`).  SIGHUP re-reads the policy and users.\n\n"
	       "  --policy FILE     resolved policy document\n"
	       "  --listen SPEC     tcp:, quic: or rdma:ADDR[:PORT] (IPv6 as [ADDR]); repeatable;\n"
	       "                    no PORT: the policy's server.transport.*.port\n"
	       "  --share NAME=DIR  export DIR as NAME; repeatable\n"
	       "  --users FILE      user:password or user:nt:HASH lines\n"
	       "  --audit-log FILE  also write audit events as JSON lines\n"
	       "  --host NAME       host name in audit events and NTLM\n"
	       "  --keytab FILE     accept Kerberos (SPNEGO) with this keytab besides NTLM\n"
	       "  --rdma-provider NAME  rdma: listeners use this libfabric provider (e.g. tcp)\n"
	       "                    instead of verbs\n"
	       "  --pid-file FILE   write the pid there once listening (the agent's\n"
	       "                    endpoint plugin sends SIGHUP to it)\n"
	       "  --help, --version\n");
}

typedef struct Args {
	const char *policy, *users, *audit_log, *host, *pid_file, *keytab, *rdma_provider;
	char **listens, **shares;
} Args;

static int parse_args(int argc, char **argv, Args *a) {
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "share", required_argument, NULL, 's' },
		{ "users", required_argument, NULL, 'u' },
		{ "audit-log", required_argument, NULL, 'a' },
		{ "host", required_argument, NULL, 'H' },
		{ "pid-file", required_argument, NULL, 'P' },
		{ "keytab", required_argument, NULL, 'K' },
		{ "rdma-provider", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (c) {
		case 'p': a->policy = optarg; break;
		case 'u': a->users = optarg; break;
		case 'a': a->audit_log = optarg; break;
		case 'H': a->host = optarg; break;
		case 'P': a->pid_file = optarg; break;
		case 'K': a->keytab = optarg; break;
		case 'R': a->rdma_provider = optarg; break;
		case 'l':
			if (strv_push_dup(&a->listens, optarg) < 0)
				return -ENOMEM;
			break;
		case 's':
			if (strv_push_dup(&a->shares, optarg) < 0)
				return -ENOMEM;
			break;
		case 'h': help(); return 0;
		case 'V': printf("smbrefd %s\n", SMBREFD_VERSION); return 0;
		default: return -EINVAL;
		}
	}
	if (optind < argc || !a->policy || !a->users || !a->listens || !a->shares) {
		fprintf(stderr, "smbrefd: --policy, --listen, --share and --users are required (see --help)\n");
		return -EINVAL;
	}
	return 1;
}

/* ---- workers ---- */

static int worker_on_wake(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
	Worker *w = userdata;
	uint64_t v;
	(void)s, (void)revents;
	(void)read(fd, &v, sizeof(v));
	if (atomic_load(&w->stop))
		return sd_event_exit(w->event, 0);
	Config *n = server_config(w->server);
	if (n == w->config) {
		config_unref(n);
		return 0;
	}
	config_unref(w->config);
	w->config = n;
	for (Conn *c = w->conns, *next; c; c = next) {
		next = c->next;
		conn_policy_changed(c, n);
	}
	return 0;
}

static void *worker_main(void *userdata) {
	Worker *w = userdata;
	int r = sd_event_loop(w->event);
	if (r < 0)
		fprintf(stderr, "smbrefd: worker %u: %s\n", w->index, strerror(-r));
	while (w->conns)
		conn_free(w->conns);
	return NULL;
}

static int worker_init(Server *s, Worker *w, unsigned index) {
	w->server = s;
	w->index = index;
	w->wake_fd = w->done_fd = -1;
	w->config = server_config(s);
	int r = sd_event_new(&w->event);
	if (r < 0)
		return r;
	w->listen_fds = calloc(s->n_listens, sizeof(int));
	if (!w->listen_fds)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_listens; i++) {
		if (s->listens[i].quic || s->listens[i].rdma)
			continue; /* transport_quic_attach, transport_rdma_attach */
		r = transport_tcp_listen(&s->listens[i], &w->listen_fds[w->n_listen]);
		if (r < 0) {
			fprintf(stderr, "smbrefd: listen %s: %s\n", s->listens[i].text, strerror(-r));
			return r;
		}
		w->n_listen++;
	}
	pthread_mutex_init(&w->done_lock, NULL);
	w->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->done_fd < 0)
		return -errno;
	r = sd_event_add_io(w->event, NULL, w->done_fd, EPOLLIN, conn_on_crypto_done, w);
	if (r < 0)
		return r;
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->wake_fd < 0)
		return -errno;
	r = sd_event_add_io(w->event, NULL, w->wake_fd, EPOLLIN, worker_on_wake, w);
	if (r < 0)
		return r;
	r = transport_quic_attach(w);
	if (r < 0)
		return r;
	r = transport_rdma_attach(w);
	if (r < 0)
		return r;
	return transport_tcp_attach(w);
}

static void worker_done(Worker *w) {
	transport_quic_detach(w);
	transport_rdma_detach(w);
	for (size_t i = 0; i < w->n_listen; i++)
		close(w->listen_fds[i]);
	free(w->listen_fds);
	sd_event_unref(w->event);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	if (w->done_fd >= 0)
		close(w->done_fd);
	config_unref(w->config);
}

static void wake_workers(Server *s) {
	uint64_t one = 1;
	for (size_t i = 0; i < s->n_workers; i++)
		(void)write(s->workers[i].wake_fd, &one, sizeof(one));
}

/* ---- signals ---- */

static int on_sighup(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata) {
	Server *s = userdata;
	(void)src, (void)si;
	Config *n;
	int r = config_load(s->policy_path, &n);
	if (r < 0) {
		fprintf(stderr, "smbrefd: reload of %s failed (%s): the previous policy stays in force\n",
			s->policy_path, strerror(-r));
		return 0;
	}
	Users *u = NULL;
	DiagList diag = {};
	r = users_load(s->users_path, &diag, &u);
	if (r < 0) {
		diag_print(&diag, stderr);
		fprintf(stderr, "smbrefd: users file %s not reloaded\n", s->users_path);
	}
	diag_clear(&diag);
	if (ports_moved(s, n)) {
		fprintf(stderr, "smbrefd: restarting to listen on the policy's ports (connections are dropped)\n");
		s->restart = true;
		users_free(u);
		config_unref(n);
		return sd_event_exit(sd_event_source_get_event(src), 0);
	}
	pthread_mutex_lock(&s->lock);
	config_unref(s->config);
	s->config = n;
	if (u) {
		users_free(s->users);
		s->users = u;
	}
	if (s->audit)
		(void)audit_emitter_reopen(s->audit);
	pthread_mutex_unlock(&s->lock);
	fprintf(stderr, "smbrefd: policy %s reloaded (\"%s\")\n", s->policy_path, n->policy_name);
	wake_workers(s);
	return 0;
}

static int on_sigterm(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata) {
	(void)si, (void)userdata;
	return sd_event_exit(sd_event_source_get_event(src), 0);
}

static void server_done(Server *s) {
	for (size_t i = 0; i < s->n_workers; i++)
		worker_done(&s->workers[i]);
	free(s->workers);
	for (size_t i = 0; i < s->n_shares; i++) {
		free(s->shares[i].name);
		free(s->shares[i].path);
		if (s->shares[i].dirfd >= 0)
			close(s->shares[i].dirfd);
	}
	free(s->shares);
	for (size_t i = 0; i < s->n_listens; i++)
		free(s->listens[i].text);
	free(s->listens);
	config_unref(s->config);
	users_free(s->users);
	audit_emitter_free(s->audit);
	ratelimit_free(s->ratelimit);
	crypto_pool_free(s->crypto_pool);
	free(s->netbios_name);
	pthread_mutex_destroy(&s->lock);
}

static int server_init(Server *s, const Args *a) {
	int r;
	s->policy_path = (char *)a->policy;
	s->users_path = (char *)a->users;
	s->audit_path = (char *)a->audit_log;
	s->keytab = (char *)a->keytab;
	s->rdma_provider = a->rdma_provider;
	pthread_mutex_init(&s->lock, NULL);

	r = config_load(a->policy, &s->config);
	if (r < 0) {
		fprintf(stderr, "smbrefd: cannot use policy %s: %s\n", a->policy, strerror(-r));
		return r;
	}
	DiagList diag = {};
	r = users_load(a->users, &diag, &s->users);
	if (r < 0) {
		diag_print(&diag, stderr);
		diag_clear(&diag);
		fprintf(stderr, "smbrefd: cannot use users file %s: %s\n", a->users, strerror(-r));
		return r;
	}
	s->n_listens = strv_length(a->listens);
	s->listens = calloc(s->n_listens, sizeof(Listen));
	s->n_shares = strv_length(a->shares);
	s->shares = calloc(s->n_shares, sizeof(Share));
	if (!s->listens || !s->shares)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_listens; i++) {
		r = parse_listen(a->listens[i], s->config, &s->listens[i]);
		if (r < 0) {
			fprintf(stderr, "smbrefd: --listen %s: %s\n", a->listens[i],
				r == -EPROTONOSUPPORT ? "transport not supported (tcp:, quic: or rdma:ADDR[:PORT])" : strerror(-r));
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < s->n_shares; i++) {
		s->shares[i].dirfd = -1;
		r = parse_share(a->shares[i], &s->shares[i]);
		if (r < 0) {
			fprintf(stderr, "smbrefd: --share %s: %s\n", a->shares[i], strerror(-r));
			return -EINVAL;
		}
	}
	char host[256] = "";
	if (a->host)
		snprintf(host, sizeof(host), "%s", a->host);
	else
		(void)gethostname(host, sizeof(host) - 1);
	s->host = a->host ? (char *)a->host : NULL;
	char nb[16] = "";
	for (size_t i = 0; i < 15 && host[i] && host[i] != '.'; i++)
		nb[i] = (char)toupper((unsigned char)host[i]);
	s->netbios_name = strdup(nb[0] ? nb : "SMBREF");
	if (!s->netbios_name)
		return -ENOMEM;
	r = audit_emitter_new(a->host, "smbrefd", a->audit_log, true, &s->audit);
	if (r < 0) {
		fprintf(stderr, "smbrefd: audit log %s: %s\n", a->audit_log ? a->audit_log : "(journal)",
			strerror(-r));
		return r;
	}
	r = ratelimit_new(&s->ratelimit);
	if (r < 0)
		return r;
	if (RAND_bytes(s->server_guid, sizeof(s->server_guid)) != 1)
		return -EIO;
	s->start_time = smb2_filetime_now();

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	s->n_workers = ncpu < 1 ? 1 : ncpu > MAX_WORKERS ? MAX_WORKERS : (size_t)ncpu;
	r = crypto_pool_new((unsigned)(s->n_workers < CRYPTO_POOL_MAX ? s->n_workers : CRYPTO_POOL_MAX),
			    &s->crypto_pool);
	if (r < 0)
		return r;
	s->workers = calloc(s->n_workers, sizeof(Worker));
	if (!s->workers)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_workers; i++) {
		r = worker_init(s, &s->workers[i], (unsigned)i);
		if (r < 0)
			return r;
	}
	return 0;
}

static int run(int argc, char **argv) {
	_cleanup_strv_free_ char **listens = NULL, **shares = NULL;
	Args a = {};
	int r = parse_args(argc, argv, &a);
	listens = a.listens;
	shares = a.shares;
	if (r <= 0)
		return r < 0 ? 2 : 0;

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL); /* inherited by the workers */
	signal(SIGPIPE, SIG_IGN);
	/* READ/WRITE buffers (up to 16 MiB) come from the heap and are reused,
	 * instead of a fresh mmap (page faults + zeroing) per request. */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);

	Server s = {};
	r = server_init(&s, &a);
	if (r < 0) {
		server_done(&s);
		return 1;
	}
	sd_event *event = NULL;
	r = sd_event_default(&event);
	if (r >= 0)
		r = sd_event_add_signal(event, NULL, SIGHUP, on_sighup, &s);
	if (r >= 0)
		r = sd_event_add_signal(event, NULL, SIGTERM, on_sigterm, &s);
	if (r >= 0)
		r = sd_event_add_signal(event, NULL, SIGINT, on_sigterm, &s);
	if (r < 0) {
		fprintf(stderr, "smbrefd: event loop: %s\n", strerror(-r));
		sd_event_unref(event);
		server_done(&s);
		return 1;
	}
	size_t started = 0;
	for (; started < s.n_workers; started++)
		if (pthread_create(&s.workers[started].thread, NULL, worker_main, &s.workers[started]) != 0)
			break;
	if (started == s.n_workers) {
		for (size_t i = 0; i < s.n_listens; i++)
			if (!s.listens[i].down)
				fprintf(stderr, "smbrefd: listening on %s (%zu workers), policy \"%s\"\n",
					s.listens[i].text, s.n_workers, s.config->policy_name);
		if (a.pid_file) {
			char pid[32];
			int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
			int k = write_file_atomic(a.pid_file, pid, (size_t)n, 0644);
			if (k < 0)
				fprintf(stderr, "smbrefd: pid file %s: %s\n", a.pid_file, strerror(-k));
		}
		(void)sd_notify(0, "READY=1");
		r = sd_event_loop(event);
	} else
		r = -EAGAIN;
	for (size_t i = 0; i < started; i++)
		atomic_store(&s.workers[i].stop, true);
	wake_workers(&s);
	for (size_t i = 0; i < started; i++)
		pthread_join(s.workers[i].thread, NULL);
	sd_event_unref(event);
	bool restart = s.restart;
	server_done(&s);
	if (restart) { /* same pid, so the pid file stays true */
		execv("/proc/self/exe", argv);
		fprintf(stderr, "smbrefd: restart failed: %s\n", strerror(errno));
	}
	struct stat pst; /* only the regular file we wrote: never a device */
	if (a.pid_file && started == s.n_workers && stat(a.pid_file, &pst) == 0 && S_ISREG(pst.st_mode))
		(void)unlink(a.pid_file);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv) {
	return run(argc, argv);
}
