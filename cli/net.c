// SPDX-License-Identifier: MIT
/* net.c - `virtio-vfio net serve`: a userspace TCP/IP stack (lwIP) on an attached virtio-net. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <virtio-vfio/virtio-vfio.h>

#include "cli.h"
#include "netstack/netstack.h"
#include "service.h"
#include "status.h"

#define DEF_POLL_US 50

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s net serve DEVICE --ip ADDR/PREFIX [--gw ADDR] [--poll-us N]\n"
		"                         [--queues N] [--pidfile FILE]\n"
		"\n"
		"Run a userspace TCP/IP stack (lwIP) on an attached virtio-net function: it\n"
		"answers ARP and ping, echoes TCP on port 7 and serves a status page (counters,\n"
		"link state) over HTTP on port 80. Stays in the foreground; SIGTERM or SIGINT\n"
		"stops it cleanly (exit 0).\n"
		"\n"
		"Options:\n"
		"  --ip ADDR/PREFIX  the interface's IPv4 address, e.g. 198.18.0.1/24\n"
		"  --gw ADDR         default gateway\n"
		"  --poll-us N       keep polling N microseconds after the last frame before\n"
		"                    sleeping on the interrupt (default %d; 0: interrupts only)\n"
		"  --queues N        receive on N queue pairs (1 to 8, default 1; needs MQ):\n"
		"                    the device spreads flows over them, replies leave on the\n"
		"                    pair their flow came in on\n"
		"  --pidfile FILE    write our pid to FILE while serving\n"
		"  -v, --verbose     log what the library does\n"
		"  -h, --help        show this help\n"
		"\n"
		"Under systemd (Type=notify) it reports readiness once it serves; see\n"
		"virtio-vfio-net@.service.\n",
		prog, DEF_POLL_US);
}

/* "198.18.0.1/24" -> address and mask, network byte order. */
static int parse_cidr(const char *s, uint32_t *ret_addr, uint32_t *ret_mask)
{
	char buf[32], *slash, *end;
	struct in_addr a;
	long prefix;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = 0;
	errno = 0;
	prefix = strtol(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || prefix < 1 || prefix > 32)
		return -1;
	if (inet_pton(AF_INET, buf, &a) != 1 || a.s_addr == 0)
		return -1;
	*ret_addr = a.s_addr;
	*ret_mask = htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix));
	return 0;
}

struct ready_ctx {
	const char *bdf;
	const char *cidr;
	struct vv_net *net;
};

static void ready(void *arg)
{
	struct ready_ctx *r = arg;
	uint8_t m[6];

	vv_net_mac(r->net, m);
	printf("%s: serving %s on %02x:%02x:%02x:%02x:%02x:%02x, link %s (TCP echo on 7, HTTP "
	       "on 80)\n",
	       r->bdf, r->cidr, m[0], m[1], m[2], m[3], m[4], m[5],
	       vv_net_link_up(r->net) ? "up" : "down");
	fflush(stdout);
	svc_notify("READY=1");
}

int net_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ip", required_argument, NULL, 'i'},
		{"gw", required_argument, NULL, 'g'},
		{"poll-us", required_argument, NULL, 'p'},
		{"queues", required_argument, NULL, 'q'},
		{"pidfile", required_argument, NULL, OPT_PIDFILE},
		CLI_OPT_VERBOSE,
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct netstack_opts so = {.poll_us = DEF_POLL_US};
	struct vv_net_opts no = {.buf_priv_size = NETSTACK_BUF_PRIV};
	const char *cidr = NULL, *pidfile = NULL;
	char bdf[PCI_BDF_LEN], *end;
	struct ready_ctx rc;
	struct net_status ns;
	struct vv_net *net;
	sigset_t sigs;
	int c, ret, sfd;
	long v;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			cli_verbose();
			break;
		case 'i':
			cidr = optarg;
			if (parse_cidr(optarg, &so.addr, &so.mask)) {
				cli_err("net serve: bad address '%s': expected an IPv4 address and "
					"prefix length, e.g. 198.18.0.1/24",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'g': {
			struct in_addr a;

			if (inet_pton(AF_INET, optarg, &a) != 1 || !a.s_addr) {
				cli_err("net serve: bad gateway '%s': expected an IPv4 address",
					optarg);
				return EXIT_USAGE;
			}
			so.gw = a.s_addr;
			break;
		}
		case 'p':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 0 || v > 1000000) {
				cli_err("net serve: --poll-us wants 0 to 1000000, not '%s'",
					optarg);
				return EXIT_USAGE;
			}
			so.poll_us = (unsigned)v;
			break;
		case 'q':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 || v > 8) {
				cli_err("net serve: --queues wants 1 to 8, not '%s'", optarg);
				return EXIT_USAGE;
			}
			so.queues = (unsigned)v;
			no.max_queue_pairs = (unsigned)v;
			break;
		case OPT_PIDFILE:
			pidfile = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		cli_err("net serve: give one DEVICE");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!cidr) {
		cli_err("net serve: --ip ADDR/PREFIX is required");
		return EXIT_USAGE;
	}
	ret = cli_attached_device(argv[optind], VV_VIRTIO_NET, "'net serve' needs a network device",
				  NULL, bdf);
	if (ret)
		return ret;
	if (so.gw && (so.gw & so.mask) != (so.addr & so.mask))
		fprintf(stderr, "%s: warning: gateway is outside %s\n", prog, cidr);

	/* Blocked before lwIP starts its thread, so that only our signalfd sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		cli_err("net serve: signalfd: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if (pidfile && (ret = svc_pidfile_write(pidfile))) {
		cli_err("net serve: --pidfile %s: %s", pidfile, strerror(-ret));
		close(sfd);
		return EXIT_FAIL;
	}
	ret = vv_net_open(bdf, &no, &net);
	if (ret) {
		if (ret == -EBUSY)
			cli_err("%s: busy: its IOMMU group is not viable, or another process opened "
				"it first (the error above says which)",
				bdf);
		else
			cli_err("%s: cannot open as a virtio-net device: %s", bdf, strerror(-ret));
		close(sfd);
		svc_pidfile_remove(pidfile);
		return EXIT_FAIL;
	}
	/* Filter on our address (broadcasts still come); a device without CTRL_RX cannot. */
	vv_net_set_promisc(net, false);
	if (so.queues > 1 && (so.queues > vv_net_get_info(net)->queue_pairs ||
			      (ret = vv_net_set_queue_pairs(net, so.queues)))) {
		cli_err("%s: cannot receive on %u queue pairs: the device has %u%s", bdf, so.queues,
			vv_net_get_info(net)->max_queue_pairs,
			ret ? " and refused the request" : "");
		vv_net_close(net);
		close(sfd);
		svc_pidfile_remove(pidfile);
		return EXIT_FAIL;
	}
	so.name = bdf;
	rc = (struct ready_ctx){.bdf = bdf, .cidr = cidr, .net = net};
	/* `virtio-vfio status` reads the counters through a socket while we serve. */
	ns = (struct net_status){.net = net, .bdf = bdf, .cidr = cidr, .poll_us = so.poll_us};
	net_status_open(&ns);
	ret = netstack_run(net, &so, sfd, ready, &rc);
	svc_notify("STOPPING=1");
	net_status_close(&ns);
	if (ret)
		cli_err("%s: net serve failed: %s", bdf, strerror(-ret));
	/* The stack is frozen under its lock: no buffer is touched after the device is closed. */
	vv_net_close(net);
	close(sfd);
	svc_pidfile_remove(pidfile);
	if (!ret) {
		printf("%s: stopped\n", bdf);
		fflush(stdout);
	}
	return ret ? EXIT_FAIL : EXIT_OK;
}
