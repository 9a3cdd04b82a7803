/* SPDX-License-Identifier: MIT */
/*
 * The hook front's input scanner (libc only, linked into the static
 * esfm-hook): it takes the domain XML in chunks as libvirtd writes it, keeps
 * it whole up to a limit, and tells whether the esfm namespace, and Nova's
 * metadata namespace, appear anywhere in it, across chunk boundaries and past
 * the limit. Past the limit the text is dropped but still scanned, so
 * libvirt's writer never sees EPIPE.
 */
#ifndef ESFM_HOOKSCAN_H
#define ESFM_HOOKSCAN_H

#include <stddef.h>

#define ESFM_HOOKSCAN_NS     "urn:esfm:vf:1"
#define ESFM_HOOKSCAN_NS_LEN (sizeof(ESFM_HOOKSCAN_NS) - 1)
/* Every Nova release's domain metadata namespace starts so (1.0, 1.1, ...). */
#define ESFM_HOOKSCAN_NOVA_NS	  "http://openstack.org/xmlns/libvirt/nova/"
#define ESFM_HOOKSCAN_NOVA_NS_LEN (sizeof(ESFM_HOOKSCAN_NOVA_NS) - 1)
#define ESFM_HOOKSCAN_TAIL_MAX	  (ESFM_HOOKSCAN_NOVA_NS_LEN - 1)

struct esfm_hookscan {
	size_t max;			   /* inputs up to this many bytes are kept whole */
	char *buf;			   /* the input so far (malloc'ed), NULL once oversized */
	size_t len;			   /* bytes seen */
	size_t cap;			   /* allocated size of buf */
	int oversized;			   /* more than max bytes seen: buf dropped */
	int found;			   /* the esfm namespace appeared */
	int found_nova;			   /* Nova's namespace appeared */
	char tail[ESFM_HOOKSCAN_TAIL_MAX]; /* last bytes seen, for matches across chunks */
	size_t tail_len;
};

/* Start a scan keeping at most @max bytes. */
void esfm_hookscan_init(struct esfm_hookscan *s, size_t max);

/* Take the next @n bytes. Returns 0, or -1 with errno ENOMEM (the scan is then void). */
int esfm_hookscan_feed(struct esfm_hookscan *s, const char *data, size_t n);

/* Feed everything @fd gives until EOF. Returns 0, or -1 with errno set. */
int esfm_hookscan_read_fd(struct esfm_hookscan *s, int fd);

/*
 * The outcome once the input has ended: 0 when the namespace does not appear
 * (nothing for esfm to do), 1 when it does and buf/len hold the whole input,
 * -1 with errno EFBIG when it does but the input was larger than max.
 */
int esfm_hookscan_result(const struct esfm_hookscan *s);

/* The same for Nova's namespace. */
int esfm_hookscan_nova_result(const struct esfm_hookscan *s);

/* Free the buffer. */
void esfm_hookscan_fini(struct esfm_hookscan *s);

#endif
