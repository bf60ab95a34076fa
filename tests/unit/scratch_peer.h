/*
 * scratch_peer.h - helpers for unit tests that start a real peer in a
 * scratch directory: shell commands, free loopback ports, and an MIT
 * Kerberos realm (KDC on loopback, principals with keytabs, kinit).
 * Included by test_spnego.c and test_crypto_samba.c; not a test itself.
 *
 * Invariants: everything lives under the caller's scratch directory; the
 * environment (KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5CCNAME, KRB5_KTNAME)
 * points there once krb_realm_start() ran, so child processes (smbd)
 * inherit the realm.  The KDC is stopped by its pid only.
 *
 * Never: touch the system's /etc/krb5.conf, keytab or credential caches.
 */
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define SCRATCH_REALM "SMBPOLICY.TEST"

static int sh(const char *fmt, ...) _printf_(1, 2);
static int sh(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *cmd = NULL;
	int n = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	int r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static int free_port(void) {
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

static int tcp_connect(int port) {
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Until something accepts on the port (up to 15 s). */
static bool wait_port(int port) {
	for (int i = 0; i < 150; i++) {
		int fd = tcp_connect(port);
		if (fd >= 0) {
			close(fd);
			return true;
		}
		usleep(100000);
	}
	return false;
}

/* A started child in its own process group (daemons such as smbd signal
 * their whole group when they exit). */
static pid_t spawn(char *const argv[]) {
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t *pid) {
	if (*pid > 0) {
		kill(-*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
	}
	*pid = -1;
}

typedef struct KrbRealm {
	const char *dir; /* scratch directory, exists */
	pid_t kdc;
} KrbRealm;

static bool krb_realm_available(void) {
	return access("/usr/sbin/krb5kdc", X_OK) == 0 && access("/usr/sbin/kdb5_util", X_OK) == 0;
}

/*
 * Realm SCRATCH_REALM in r->dir with a KDC on a free loopback port.  Each
 * principal gets a random key and a keytab DIR/NAME.keytab ('/' in NAME
 * becomes '_'); services listed get no PAC in their tickets (MIT 1.20 adds
 * one by default, which a standalone smbd refuses).  KRB5_KTNAME is set to
 * the keytab of the first service.  Returns 0 or -1.
 */
static int krb_realm_start(KrbRealm *r, const char *const *users, const char *const *services) {
	r->kdc = -1;
	int port = free_port();
	char path[512];
	snprintf(path, sizeof path, "%s/krb5.conf", r->dir);
	FILE *f = fopen(path, "w");
	if (!f || port < 0)
		return -1;
	fprintf(f,
		"[libdefaults]\n default_realm = " SCRATCH_REALM "\n dns_lookup_kdc = false\n"
		" dns_lookup_realm = false\n rdns = false\n dns_canonicalize_hostname = false\n"
		" udp_preference_limit = 1\n"
		"[realms]\n " SCRATCH_REALM " = {\n  kdc = 127.0.0.1:%d\n }\n"
		"[domain_realm]\n localhost = " SCRATCH_REALM "\n",
		port);
	fclose(f);
	setenv("KRB5_CONFIG", path, 1);
	snprintf(path, sizeof path, "%s/kdc.conf", r->dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f,
		"[kdcdefaults]\n kdc_ports = %d\n kdc_tcp_ports = %d\n"
		"[realms]\n " SCRATCH_REALM " = {\n  database_name = %s/principal\n"
		"  key_stash_file = %s/stash\n  acl_file = %s/kadm5.acl\n }\n"
		"[logging]\n kdc = FILE:%s/kdc.log\n",
		port, port, r->dir, r->dir, r->dir, r->dir);
	fclose(f);
	setenv("KRB5_KDC_PROFILE", path, 1);
	snprintf(path, sizeof path, "FILE:%s/ccache", r->dir);
	setenv("KRB5CCNAME", path, 1);
	if (sh("kdb5_util create -s -r " SCRATCH_REALM " -P master-pw >/dev/null 2>&1") != 0)
		return -1;
	for (int pass = 0; pass < 2; pass++)
		for (const char *const *p = pass ? services : users; p && *p; p++) {
			_cleanup_free_ char *file = strdup(*p);
			if (!file)
				return -1;
			for (char *c = file; *c; c++)
				if (*c == '/')
					*c = '_';
			if (sh("kadmin.local -q 'addprinc -randkey %s' >/dev/null 2>&1", *p) != 0 ||
			    sh("kadmin.local -q 'ktadd -k %s/%s.keytab %s' >/dev/null 2>&1", r->dir, file,
			       *p) != 0)
				return -1;
			if (pass && sh("kadmin.local -q 'modprinc +no_auth_data_required %s' "
				       ">/dev/null 2>&1",
				       *p) != 0)
				return -1;
			if (pass && p == services) {
				snprintf(path, sizeof path, "FILE:%s/%s.keytab", r->dir, file);
				setenv("KRB5_KTNAME", path, 1);
			}
		}
	char *argv[] = { (char *)"/usr/sbin/krb5kdc", (char *)"-n", NULL };
	r->kdc = spawn(argv);
	return wait_port(port) ? 0 : -1;
}

/* Tickets of user (from its keytab) into $KRB5CCNAME. */
static int krb_realm_kinit(KrbRealm *r, const char *user) {
	return sh("kinit -k -t %s/%s.keytab %s >/dev/null 2>&1", r->dir, user, user) == 0 ? 0 : -1;
}

static void krb_realm_stop(KrbRealm *r) {
	stop(&r->kdc);
}
