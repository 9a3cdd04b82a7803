/* SPDX-License-Identifier: MIT */
/*
 * The entry point every harness in tests/fuzz defines. `make fuzz` links it
 * with libFuzzer (clang, -fsanitize=fuzzer,address,undefined); `make check`
 * links it with replay.c, which runs every file of tests/fuzz/corpus/<name>/
 * through it under ASan and UBSan, so an input that once crashed stays fixed.
 * A harness aborts (__builtin_trap) when a property it checks does not hold.
 */
#ifndef ESFM_FUZZ_H
#define ESFM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

#endif
