// SPDX-License-Identifier: MIT
/* esfm-hook: libvirt qemu hook. */
int main(void)
{
	return 0;
}
