// SPDX-License-Identifier: MIT
/*
 * The hook front's scanner (hooks/hookscan.c). The first byte sets the size
 * kept whole (0 to 1020), the second the chunk size libvirt's writes come in
 * (1 to 256); the rest is the input. Whatever the chunking, the scanner must
 * find the esfm namespace, and Nova's, exactly when they are in the input,
 * and keep the input byte for byte when it fits.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "hookscan.h"

static int scan_fd(const uint8_t *data, size_t size, size_t max)
{
	struct esfm_hookscan s;
	int fd = memfd_create("fuzz", 0), r = -2;

	if (fd < 0)
		return -2;
	if (write(fd, data, size) == (ssize_t)size && lseek(fd, 0, SEEK_SET) == 0) {
		esfm_hookscan_init(&s, max);
		r = esfm_hookscan_read_fd(&s, fd) < 0 ? -2 : esfm_hookscan_result(&s);
		esfm_hookscan_fini(&s);
	}
	close(fd);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esfm_hookscan s;
	size_t max, chunk, want, want_nova;
	int r, rn;

	if (size < 2)
		return 0;
	max = (size_t)data[0] * 4;
	chunk = (size_t)data[1] + 1;
	data += 2;
	size -= 2;
	want = memmem(data, size, ESFM_HOOKSCAN_NS, ESFM_HOOKSCAN_NS_LEN) != NULL;
	want_nova = memmem(data, size, ESFM_HOOKSCAN_NOVA_NS, ESFM_HOOKSCAN_NOVA_NS_LEN) != NULL;
	esfm_hookscan_init(&s, max);
	for (size_t off = 0; off < size; off += chunk)
		FUZZ_CHECK(esfm_hookscan_feed(&s, (const char *)data + off,
					      size - off < chunk ? size - off : chunk) == 0);
	r = esfm_hookscan_result(&s);
	rn = esfm_hookscan_nova_result(&s);
	FUZZ_CHECK(s.len == size);
	FUZZ_CHECK(want_nova ? rn == (size > max ? -1 : 1) : rn == 0);
	if (!want)
		FUZZ_CHECK(r == 0);
	else if (size > max)
		FUZZ_CHECK(r == -1);
	else
		FUZZ_CHECK(r == 1 && (!size || !memcmp(s.buf, data, size)));
	esfm_hookscan_fini(&s);
	FUZZ_CHECK(scan_fd(data, size, max) == r);
	return 0;
}
