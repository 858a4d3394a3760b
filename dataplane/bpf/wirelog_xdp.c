// SPDX-License-Identifier: Apache-2.0
//
// wirelog's XDP program: decides, for every frame of the capture interface,
// whether it is mirrored traffic for the sensor or the host's own, stamps
// the frames it hands to the AF_XDP socket, and drops in the kernel what the
// operator's filters would discard anyway.
//
// Per frame:
//   1. Host or mirror. In `take_all` mode (a dedicated mirror port) every
//      frame is the sensor's. Otherwise a frame addressed to the interface's
//      own MAC, or to a broadcast/multicast address, belongs to the host and
//      goes to the kernel stack untouched, unless it is a mirror
//      encapsulation the sensor decapsulates (UDP to a VXLAN/Geneve/GRE-in-UDP
//      port, or GRE): cloud traffic mirroring sends those to the sensor's own
//      address. Unicast frames for other MACs are a SPAN/TAP feed.
//   2. Filters and sampling, only where this program sees exactly what user
//      space would decide on: Ethernet, at most two VLAN tags, IPv4 that is
//      not a fragment or IPv6 whose next header is the transport, then TCP,
//      UDP (not to a tunnel port), SCTP, ICMP or ICMPv6 with a whole header.
//      Anything else (tunnels, fragments, MPLS, PPPoE, extension headers,
//      malformed headers) goes up, where the filters apply after decap.
//   3. Trim a frame longer than a UMEM frame to fit (the original length
//      travels in the stamp), put the stamp in front of it, redirect.
//
// The stamp (`struct wl_stamp` below) is prepended to the frame itself with
// bpf_xdp_adjust_head, not written as XDP metadata: metadata needs the
// driver's support (ENA has none) and some kernels refuse
// bpf_xdp_adjust_meta to XDP programs altogether (this testbed's 6.18 does),
// while every XDP path can move the head. A frame is therefore handed to
// the socket as stamp + frame, always: one that cannot be stamped is passed
// to the stack and counted, never redirected bare.
//
// Every outcome is counted in a per-CPU array (`WL_C_*`), summed by user
// space. Keep the layouts below in step with `capture/xdp_prog.rs`.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define always_inline inline __attribute__((always_inline))

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static long (*bpf_redirect_map)(void *map, __u64 key, __u64 flags) = (void *)BPF_FUNC_redirect_map;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)BPF_FUNC_ktime_get_ns;
static long (*bpf_xdp_adjust_head)(struct xdp_md *ctx, int delta) = (void *)BPF_FUNC_xdp_adjust_head;
static long (*bpf_xdp_adjust_tail)(struct xdp_md *ctx, int delta) = (void *)BPF_FUNC_xdp_adjust_tail;

#define WL_STAMP_MAGIC 0x776c7331 /* "wls1" */

struct wl_stamp {
	__u32 magic;    /* WL_STAMP_MAGIC */
	__u32 wire_len; /* the frame's length before any trim */
	__u64 ts_ns;    /* CLOCK_MONOTONIC at XDP time */
};

#define WL_TUNNEL_PORTS 16

struct wl_config {
	__u8 mac[6];        /* the interface's own address */
	__u8 take_all;      /* every frame is mirrored traffic */
	__u8 drop_filtered; /* filtered frames: drop (1) or pass to the stack (0) */
	__u32 max_len;      /* longest frame a UMEM frame holds after the stamp; longer ones are trimmed */
	__u32 sample;       /* keep one flow in `sample` (0 or 1: all) */
	__u32 lists;        /* WL_F_* : which filter lists are in force */
	__u16 tunnel_ports[WL_TUNNEL_PORTS]; /* UDP destination ports user space decapsulates */
	__u32 n_tunnel_ports;
	__u8 include_proto[32]; /* bitmaps of IP protocol numbers */
	__u8 exclude_proto[32];
};

#define WL_F_INC_NET (1u << 0)
#define WL_F_EXC_NET (1u << 1)
#define WL_F_INC_PORT (1u << 2)
#define WL_F_EXC_PORT (1u << 3)
#define WL_F_INC_PROTO (1u << 4)
#define WL_F_EXC_PROTO (1u << 5)
#define WL_F_INC_VLAN (1u << 6)
#define WL_F_EXC_VLAN (1u << 7)

/* Values of the port and VLAN maps: which lists name the key. */
#define WL_IN (1u << 0)
#define WL_EX (1u << 1)

enum wl_counter {
	WL_C_FRAMES,       /* every frame the program ran on */
	WL_C_REDIRECTED,   /* handed to the AF_XDP socket */
	WL_C_HOST,         /* the host's own traffic, passed to the stack */
	WL_C_FILTERED,     /* excluded by the filters (dropped or passed) */
	WL_C_SAMPLED_OUT,  /* not in the 1-in-N flow sample */
	WL_C_UP_UNPARSED,  /* redirected undecided: tunnels, fragments, others */
	WL_C_TRIMMED,      /* longer than a UMEM frame, trimmed */
	WL_C_NO_STAMP,     /* no headroom for the stamp: passed to the stack */
	WL_C_NO_SOCKET,    /* no socket on the frame's queue: passed */
	WL_C_MIRROR_TUNNEL,/* mirror encapsulations addressed to the host */
	WL_C_COUNT,
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64); /* set to the queue count before load */
	__type(key, __u32);
	__type(value, __u32);
} wl_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wl_config);
} wl_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WL_C_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} wl_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} wl_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} wl_vlans SEC(".maps");

struct wl_lpm4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct wl_lpm6 {
	__u32 prefixlen;
	__u8 addr[16];
};

#define WL_NETS 1024

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WL_NETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct wl_lpm4);
	__type(value, __u8);
} wl_inc4 SEC(".maps"), wl_exc4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WL_NETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct wl_lpm6);
	__type(value, __u8);
} wl_inc6 SEC(".maps"), wl_exc6 SEC(".maps");

static always_inline void count(__u32 c)
{
	__u64 *v = bpf_map_lookup_elem(&wl_counters, &c);
	if (v)
		*v += 1;
}

/* What the program learnt of a frame it could decide on. */
struct tuple {
	__u32 src[4], dst[4]; /* IPv4 in src[0]/dst[0], the rest zero */
	__u16 sport, dport;
	__u16 vlan, inner_vlan; /* 0xffff: none */
	__u8 proto, v6;
};

static always_inline __u16 be16(const __u8 *p)
{
	return ((__u16)p[0] << 8) | p[1];
}

static always_inline int tunnel_port(const struct wl_config *cfg, __u16 port)
{
#pragma unroll
	for (int i = 0; i < WL_TUNNEL_PORTS; i++) {
		if (i < cfg->n_tunnel_ports && cfg->tunnel_ports[i] == port)
			return 1;
	}
	return 0;
}

static always_inline int bit(const __u8 *map, __u8 n)
{
	return (map[n >> 3] >> (n & 7)) & 1;
}

/* The filter of `dataplane::filter::Filter::pass`, on a decided frame. */
static always_inline int filter_pass(const struct wl_config *cfg, const struct tuple *t)
{
	__u32 l = cfg->lists;
	if (l & (WL_F_INC_NET | WL_F_EXC_NET)) {
		int inc = 0, exc = 0;
		if (t->v6) {
			struct wl_lpm6 a = { .prefixlen = 128 }, b = { .prefixlen = 128 };
			__builtin_memcpy(a.addr, t->src, 16);
			__builtin_memcpy(b.addr, t->dst, 16);
			if (l & WL_F_INC_NET)
				inc = bpf_map_lookup_elem(&wl_inc6, &a) || bpf_map_lookup_elem(&wl_inc6, &b);
			if (l & WL_F_EXC_NET)
				exc = bpf_map_lookup_elem(&wl_exc6, &a) || bpf_map_lookup_elem(&wl_exc6, &b);
		} else {
			struct wl_lpm4 a = { .prefixlen = 32 }, b = { .prefixlen = 32 };
			__builtin_memcpy(a.addr, t->src, 4);
			__builtin_memcpy(b.addr, t->dst, 4);
			if (l & WL_F_INC_NET)
				inc = bpf_map_lookup_elem(&wl_inc4, &a) || bpf_map_lookup_elem(&wl_inc4, &b);
			if (l & WL_F_EXC_NET)
				exc = bpf_map_lookup_elem(&wl_exc4, &a) || bpf_map_lookup_elem(&wl_exc4, &b);
		}
		if ((l & WL_F_INC_NET) && !inc)
			return 0;
		if (exc)
			return 0;
	}
	if (l & (WL_F_INC_PORT | WL_F_EXC_PORT)) {
		__u32 s = t->sport, d = t->dport;
		__u8 *ps = bpf_map_lookup_elem(&wl_ports, &s);
		__u8 *pd = bpf_map_lookup_elem(&wl_ports, &d);
		__u8 f = (ps ? *ps : 0) | (pd ? *pd : 0);
		if ((l & WL_F_INC_PORT) && !(f & WL_IN))
			return 0;
		if (f & WL_EX)
			return 0;
	}
	if ((l & WL_F_INC_PROTO) && !bit(cfg->include_proto, t->proto))
		return 0;
	if ((l & WL_F_EXC_PROTO) && bit(cfg->exclude_proto, t->proto))
		return 0;
	if (l & (WL_F_INC_VLAN | WL_F_EXC_VLAN)) {
		__u8 f = 0;
		if (t->vlan != 0xffff) {
			__u32 a = t->vlan & 0xfff;
			__u8 *p = bpf_map_lookup_elem(&wl_vlans, &a);
			if (p)
				f |= *p;
			if (t->inner_vlan != 0xffff) {
				__u32 b = t->inner_vlan & 0xfff;
				__u8 *q = bpf_map_lookup_elem(&wl_vlans, &b);
				if (q)
					f |= *q;
			}
		}
		if ((l & WL_F_INC_VLAN) && !(f & WL_IN))
			return 0;
		if (f & WL_EX)
			return 0;
	}
	return 1;
}

/* The flow sample's hash (`dataplane::filter::sample_hash`): symmetric in
 * the two endpoints, a murmur3 finalizer over the XOR of both sides. */
static always_inline __u32 sample_hash(const struct tuple *t)
{
	__u32 h = (t->src[0] ^ t->dst[0]) ^ (t->src[1] ^ t->dst[1]) ^ (t->src[2] ^ t->dst[2]) ^
		  (t->src[3] ^ t->dst[3]);
	h ^= ((__u32)(t->sport ^ t->dport) << 8) ^ t->proto;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

enum verdict { V_HOST, V_UP, V_DECIDED, V_MIRROR_TUNNEL };

/* Parses what step 2 needs. V_DECIDED fills `t`; V_UP: user space decides;
 * V_MIRROR_TUNNEL: a tunnel user space decapsulates (also V_UP). */
static always_inline enum verdict parse(const struct wl_config *cfg, void *data, void *end,
					struct tuple *t)
{
	__u8 *p = data;
	if ((void *)(p + 14) > end)
		return V_UP;
	__u16 et = be16(p + 12);
	p += 14;
	t->vlan = 0xffff;
	t->inner_vlan = 0xffff;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (et == ETH_P_8021Q || et == ETH_P_8021AD || et == 0x9100) {
			if ((void *)(p + 4) > end)
				return V_UP;
			__u16 id = be16(p) & 0x0fff;
			if (i == 0)
				t->vlan = id;
			else
				t->inner_vlan = id;
			et = be16(p + 2);
			p += 4;
		}
	}
	__u8 *l4;
	__u8 *l4_end;
	if (et == ETH_P_IP) {
		struct iphdr *ip = (void *)p;
		if ((void *)(ip + 1) > end)
			return V_UP;
		__u32 ihl = ip->ihl * 4;
		if (ip->version != 4 || ihl < 20)
			return V_UP;
		__u16 tot = be16((__u8 *)&ip->tot_len);
		/* A fragment (MF or an offset) is reassembled up there. */
		if (be16((__u8 *)&ip->frag_off) & 0x3fff)
			return V_UP;
		if (tot < ihl || (void *)(p + tot) > end)
			return V_UP;
		__builtin_memcpy(&t->src[0], &ip->saddr, 4);
		__builtin_memcpy(&t->dst[0], &ip->daddr, 4);
		t->proto = ip->protocol;
		t->v6 = 0;
		l4 = p + ihl;
		l4_end = p + tot;
	} else if (et == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = (void *)p;
		if ((void *)(ip6 + 1) > end)
			return V_UP;
		if (ip6->version != 6)
			return V_UP;
		__u16 plen = be16((__u8 *)&ip6->payload_len);
		if ((void *)(p + 40 + plen) > end)
			return V_UP;
		__builtin_memcpy(t->src, &ip6->saddr, 16);
		__builtin_memcpy(t->dst, &ip6->daddr, 16);
		t->proto = ip6->nexthdr;
		t->v6 = 1;
		l4 = p + 40;
		l4_end = p + 40 + plen;
	} else {
		return V_UP;
	}
	if (l4 > l4_end)
		return V_UP;
	switch (t->proto) {
	case IPPROTO_TCP: {
		if ((void *)(l4 + 20) > end || l4 + 20 > l4_end)
			return V_UP;
		__u32 hl = (l4[12] >> 4) * 4;
		if (hl < 20 || l4 + hl > l4_end)
			return V_UP;
		t->sport = be16(l4);
		t->dport = be16(l4 + 2);
		return V_DECIDED;
	}
	case IPPROTO_UDP:
		if ((void *)(l4 + 8) > end || l4 + 8 > l4_end)
			return V_UP;
		t->sport = be16(l4);
		t->dport = be16(l4 + 2);
		if (tunnel_port(cfg, t->dport))
			return V_MIRROR_TUNNEL;
		return V_DECIDED;
	case IPPROTO_SCTP:
		if ((void *)(l4 + 12) > end || l4 + 12 > l4_end)
			return V_UP;
		t->sport = be16(l4);
		t->dport = be16(l4 + 2);
		return V_DECIDED;
	case IPPROTO_ICMP:
	case 58: /* ICMPv6 */
		if ((void *)(l4 + 4) > end || l4 + 4 > l4_end)
			return V_UP;
		t->sport = l4[0];
		t->dport = l4[1];
		return V_DECIDED;
	case IPPROTO_GRE:
		return V_MIRROR_TUNNEL;
	default:
		return V_UP;
	}
}

SEC("xdp")
int wirelog_xdp(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 now = bpf_ktime_get_ns();
	struct wl_config *cfg = bpf_map_lookup_elem(&wl_config, &zero);
	if (!cfg)
		return XDP_PASS;
	count(WL_C_FRAMES);
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 len = end - data;
	__u8 *eth = data;
	if ((void *)(eth + 14) > end) {
		if (!cfg->take_all) {
			count(WL_C_HOST);
			return XDP_PASS;
		}
	}
	int ours = 0;
	if (!cfg->take_all && (void *)(eth + 14) <= end) {
		/* Group addresses (ARP, ND, DHCP...) and frames for our MAC. */
		ours = (eth[0] & 1) || (eth[0] == cfg->mac[0] && eth[1] == cfg->mac[1] &&
					eth[2] == cfg->mac[2] && eth[3] == cfg->mac[3] &&
					eth[4] == cfg->mac[4] && eth[5] == cfg->mac[5]);
	}
	struct tuple t = {};
	enum verdict v = parse(cfg, data, end, &t);
	if (ours) {
		/* Only a unicast mirror encapsulation to us is the sensor's. */
		if (v != V_MIRROR_TUNNEL || (eth[0] & 1)) {
			count(WL_C_HOST);
			return XDP_PASS;
		}
		count(WL_C_MIRROR_TUNNEL);
	}
	if (v == V_DECIDED) {
		if (!filter_pass(cfg, &t)) {
			count(WL_C_FILTERED);
			return cfg->drop_filtered ? XDP_DROP : XDP_PASS;
		}
		if (cfg->sample > 1 && sample_hash(&t) % cfg->sample != 0) {
			count(WL_C_SAMPLED_OUT);
			return cfg->drop_filtered ? XDP_DROP : XDP_PASS;
		}
	} else {
		count(WL_C_UP_UNPARSED);
	}
	/* A queue without its socket passes the frame on unchanged. */
	__u32 q = ctx->rx_queue_index;
	if (!bpf_map_lookup_elem(&wl_xsks, &q)) {
		count(WL_C_NO_SOCKET);
		return XDP_PASS;
	}
	if (cfg->max_len && len > cfg->max_len) {
		if (bpf_xdp_adjust_tail(ctx, (int)cfg->max_len - (int)len) == 0)
			count(WL_C_TRIMMED);
	}
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct wl_stamp)) != 0) {
		count(WL_C_NO_STAMP);
		return XDP_PASS;
	}
	struct wl_stamp *st = (void *)(long)ctx->data;
	if ((void *)(st + 1) > (void *)(long)ctx->data_end) {
		/* Cannot happen after a successful adjust_head; the verifier
		 * wants the check. The frame would reach the stack stamped. */
		count(WL_C_NO_STAMP);
		return XDP_DROP;
	}
	st->magic = WL_STAMP_MAGIC;
	st->wire_len = len;
	st->ts_ns = now;
	count(WL_C_REDIRECTED);
	return bpf_redirect_map(&wl_xsks, q, XDP_DROP);
}

char _license[] SEC("license") = "Apache-2.0";
