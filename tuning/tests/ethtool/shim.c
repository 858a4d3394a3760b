/*
 * LD_PRELOAD shim for the ethtool byte comparison (tuning/tests/ethtool_bytes.rs).
 *
 * Logs the bytes of every SIOCETHTOOL struct passed to ioctl(), one line per
 * call, to the file named by $WL_SHIM_LOG:
 *
 *     <cmd hex> <hex bytes of the struct as passed, before the kernel sees it>
 *
 * and, after a call the kernel answered with success, the struct as the
 * kernel left it, on a line of its own:
 *
 *     reply <cmd hex> <hex bytes>
 *
 * veth has no RSS: ethtool asks ETHTOOL_GRXRINGS and ETHTOOL_GRSSH before it
 * sends ETHTOOL_SRSSH, and veth refuses both, so ethtool would stop there.
 * This shim answers only those two GETs with the facts of a fake device
 * (4 RX rings, a 40-byte key, a 128-entry table, Toeplitz active), so the
 * caller goes on to build its SET, which the shim passes to the real kernel
 * (strace shows it arriving and veth's EOPNOTSUPP). Every other ioctl goes
 * to the kernel untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

/* The uapi has no name for the hash function bits: bit i is string i of
 * ETH_SS_RSS_HASH_FUNCS, and string 0 is "toeplitz". */
#define HASH_TOEPLITZ 1
#define FAKE_RINGS 4
#define FAKE_KEY 40
#define FAKE_INDIR 128

typedef int (*ioctl_fn)(int, unsigned long, ...);

static void log_struct(const char *tag, uint32_t cmd, const unsigned char *p, size_t len)
{
	const char *path = getenv("WL_SHIM_LOG");
	FILE *f;
	size_t i;

	if (!path || !(f = fopen(path, "a")))
		return;
	fprintf(f, "%s%08x ", tag, cmd);
	for (i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
	fputc('\n', f);
	fclose(f);
}

/* Bytes of the struct the caller passed: what the kernel would read. */
static size_t struct_len(const unsigned char *p)
{
	uint32_t cmd, indir, key;

	memcpy(&cmd, p, 4);
	switch (cmd) {
	case ETHTOOL_GRXFH:
	case ETHTOOL_SRXFH:
	case ETHTOOL_GRXRINGS:
		return sizeof(struct ethtool_rxnfc);
	case ETHTOOL_GRSSH:
	case ETHTOOL_SRSSH:
		memcpy(&indir, p + offsetof(struct ethtool_rxfh, indir_size), 4);
		memcpy(&key, p + offsetof(struct ethtool_rxfh, key_size), 4);
		if (indir == ETH_RXFH_INDIR_NO_CHANGE)
			indir = 0;
		return sizeof(struct ethtool_rxfh) + (size_t)indir * 4 + key;
	case ETHTOOL_GDRVINFO:
		return sizeof(struct ethtool_drvinfo);
	case ETHTOOL_GSSET_INFO:
		return sizeof(struct ethtool_sset_info);
	case ETHTOOL_GSTRINGS:
		return sizeof(struct ethtool_gstrings);
	default:
		return 4;
	}
}

/* Answers a GET veth lacks; returns 1 if it did. */
static int fake(unsigned char *p)
{
	uint32_t cmd, indir, key, i;
	uint64_t rings = FAKE_RINGS;

	memcpy(&cmd, p, 4);
	if (cmd == ETHTOOL_GRXRINGS) {
		memcpy(p + offsetof(struct ethtool_rxnfc, data), &rings, 8);
		return 1;
	}
	if (cmd == ETHTOOL_GRSSH) {
		struct ethtool_rxfh h;

		memcpy(&h, p, sizeof(h));
		indir = h.indir_size;
		key = h.key_size;
		h.indir_size = FAKE_INDIR;
		h.key_size = FAKE_KEY;
		h.hfunc = HASH_TOEPLITZ;
		memcpy(p, &h, sizeof(h));
		if (indir == FAKE_INDIR && key == FAKE_KEY) {
			for (i = 0; i < FAKE_INDIR; i++) {
				uint32_t q = i % FAKE_RINGS;

				memcpy(p + sizeof(h) + i * 4, &q, 4);
			}
			for (i = 0; i < FAKE_KEY; i++)
				p[sizeof(h) + FAKE_INDIR * 4 + i] = (unsigned char)(0xa0 + i);
		}
		return 1;
	}
	return 0;
}

int ioctl(int fd, unsigned long req, ...)
{
	static ioctl_fn real;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
	if (req == SIOCETHTOOL && arg) {
		struct ifreq *ifr = arg;
		unsigned char *p = (unsigned char *)ifr->ifr_data;
		uint32_t cmd;
		int ret;

		memcpy(&cmd, p, 4);
		log_struct("", cmd, p, struct_len(p));
		if (getenv("WL_SHIM_FAKE") && fake(p))
			return 0;
		ret = real(fd, req, arg);
		if (ret == 0)
			log_struct("reply ", cmd, p, struct_len(p));
		return ret;
	}
	return real(fd, req, arg);
}
