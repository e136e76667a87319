/* SPDX-License-Identifier: ISC */
/*
 * Idempotency keys of PUBLISH_ONCE, held for IDEM_TTL (300) seconds.
 *
 * A key belongs to its channel: the same key on two channels is two keys.
 * Entries sit in a hash table for lookup and in a FIFO in the order they
 * were added; every entry lives for the same IDEM_TTL, so that order is
 * also the order of expiry and expiring is popping the head.
 *
 * Bounds and policy: at most max_keys entries (IDEM_MAX_KEYS) and
 * max_bytes of memory (IDEM_MAX_BYTES, counting the entry, the channel,
 * the key and the id).  Adding past either drops the oldest entries
 * first, counted in evictions (STATS "idem_evictions"): the publish is
 * never refused for it, but a retry of an evicted key within its 300 s
 * would publish again.  The table is sized so that this takes a sustained
 * 333 keyed publishes a second; a broker that sees more can be given
 * larger bounds.  A key is at most PROTO_IDEM_KEY_MAX bytes (checked by
 * the caller).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "idem.h"

struct idem_entry {
	struct nametab_node	 node;
	TAILQ_ENTRY(idem_entry)	 entry;
	double			 when;
	size_t			 size;		/* counted in bytes */
	size_t			 namelen;	/* channel NUL key */
	size_t			 idlen;
	char			 data[];	/* name, then id */
};

int
idem_init(struct idem *t, size_t max_keys, size_t max_bytes)
{
	memset(t, 0, sizeof(*t));
	TAILQ_INIT(&t->fifo);
	t->max_keys = max_keys != 0 ? max_keys : IDEM_MAX_KEYS;
	t->max_bytes = max_bytes != 0 ? max_bytes : IDEM_MAX_BYTES;
	return (nametab_init(&t->tab, IDEM_BUCKETS0));
}

static void
idem_remove(struct idem *t, struct idem_entry *e)
{
	nametab_remove(&t->tab, &e->node);
	TAILQ_REMOVE(&t->fifo, e, entry);
	t->bytes -= e->size;
	free(e);
}

void
idem_free(struct idem *t)
{
	struct idem_entry	*e;

	if (t->tab.buckets == NULL)
		return;
	while ((e = TAILQ_FIRST(&t->fifo)) != NULL)
		idem_remove(t, e);
	nametab_free(&t->tab, NULL);
}

void
idem_expire(struct idem *t, double now)
{
	struct idem_entry	*e;

	while ((e = TAILQ_FIRST(&t->fifo)) != NULL &&
	    e->when + IDEM_TTL <= now)
		idem_remove(t, e);
}

/* The lookup name, "channel\0key", in the caller's buffer; its length. */
static size_t
idem_name(char *out, const char *channel, size_t chlen, const char *key,
    size_t keylen)
{
	memcpy(out, channel, chlen);
	out[chlen] = '\0';
	memcpy(out + chlen + 1, key, keylen);
	return (chlen + 1 + keylen);
}

const char *
idem_find(struct idem *t, const char *channel, size_t chlen,
    const char *key, size_t keylen, double now, size_t *idlen)
{
	struct nametab_node	*n;
	struct idem_entry	*e;
	char			*name;
	size_t			 len;

	idem_expire(t, now);
	if ((name = malloc(chlen + 1 + keylen)) == NULL)
		return (NULL);
	len = idem_name(name, channel, chlen, key, keylen);
	n = nametab_find(&t->tab, name, len);
	free(name);
	if (n == NULL)
		return (NULL);
	e = NAMETAB_ENTRY(n, struct idem_entry, node);
	t->repeats++;
	*idlen = e->idlen;
	return (e->data + e->namelen);
}

int
idem_add(struct idem *t, const char *channel, size_t chlen, const char *key,
    size_t keylen, const char *id, size_t idlen, double now)
{
	struct idem_entry	*e, *old;
	struct nametab_node	*n;
	size_t			 namelen = chlen + 1 + keylen;
	size_t			 size = sizeof(*e) + namelen + idlen;

	idem_expire(t, now);
	if (size > t->max_bytes)
		return (-1);
	if ((e = malloc(size)) == NULL)
		return (-1);
	e->namelen = idem_name(e->data, channel, chlen, key, keylen);
	memcpy(e->data + namelen, id, idlen);
	e->idlen = idlen;
	e->size = size;
	e->when = now;
	/* A key added twice (two PUBLISH_ONCE in flight): the last wins. */
	if ((n = nametab_find(&t->tab, e->data, namelen)) != NULL)
		idem_remove(t, NAMETAB_ENTRY(n, struct idem_entry, node));
	while ((old = TAILQ_FIRST(&t->fifo)) != NULL &&
	    (t->tab.count >= t->max_keys || t->bytes + size > t->max_bytes)) {
		idem_remove(t, old);
		t->evictions++;
	}
	nametab_insert(&t->tab, &e->node, e->data, namelen);
	TAILQ_INSERT_TAIL(&t->fifo, e, entry);
	t->bytes += size;
	return (0);
}

size_t
idem_count(const struct idem *t)
{
	return (t->tab.count);
}
