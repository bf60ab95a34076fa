/*
 * tree.c - TREE_CONNECT and TREE_DISCONNECT ([MS-SMB2] 3.3.5.7, 3.3.5.8):
 * the shares given by --share NAME=DIR, and IPC$ (accepted so clients can
 * connect, but it serves no pipes).
 *
 * Invariants: a tree id is unique within its session and never 0 or
 * 0xFFFFFFFF; disconnecting a tree closes every open made through it.
 * Must never: connect a share name that --share did not give.
 */
#include <strings.h>

#include "server.h"

#define MAXIMAL_ACCESS_ALL 0x001f01ffu

Tree *tree_find(Session *s, uint32_t id) {
	for (Tree *t = s->trees; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

void tree_free(Session *s, Tree *t) {
	for (Tree **p = &s->trees; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	open_close_all(s->conn, s, t);
	free(t);
}

int smb2_tree_connect(Smb2Request *r) {
	Smb2TreeConnectReq q;
	_cleanup_free_ char *path = NULL;
	if (smb2_parse_tree_connect(r->msg, r->len, &q) < 0 ||
	    smb2_utf16_to_utf8(q.path.data, q.path.len, &path) < 0) {
		r->status = NT_STATUS_INVALID_PARAMETER;
		return 0;
	}
	/* \\server\share: the share is the last component */
	const char *name = strrchr(path, '\\');
	name = name ? name + 1 : path;
	Share *share = NULL;
	bool ipc = strcasecmp(name, "IPC$") == 0;
	if (!ipc) {
		share = server_find_share(r->server, name);
		if (!share) {
			r->status = NT_STATUS_BAD_NETWORK_NAME;
			return 0;
		}
	}
	Session *s = r->session;
	Tree *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->share = share;
	do
		t->id = s->next_tree_id++;
	while (t->id == 0 || t->id == UINT32_MAX || tree_find(s, t->id));
	t->next = s->trees;
	s->trees = t;
	r->hdr.tree_id = t->id;

	uint8_t *p = smb2_buf_extend(r->out, 16);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 16);
	p[2] = ipc ? SMB2_SHARE_TYPE_PIPE : SMB2_SHARE_TYPE_DISK;
	smb2_put32(p + 4, s->encrypt ? SMB2_SHAREFLAG_ENCRYPT_DATA : 0);
	smb2_put32(p + 8, 0);
	smb2_put32(p + 12, MAXIMAL_ACCESS_ALL);
	return 0;
}

int smb2_tree_disconnect(Smb2Request *r) {
	tree_free(r->session, r->tree);
	r->tree = NULL;
	uint8_t *p = smb2_buf_extend(r->out, 4);
	if (!p)
		return -ENOMEM;
	smb2_put16(p, 4);
	return 0;
}
