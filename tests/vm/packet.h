/* SPDX-License-Identifier: MIT */
/* packet.h - the VM net tools' raw socket: AF_PACKET bound to one interface, and its MAC. */
#ifndef VV_TESTS_PACKET_H
#define VV_TESTS_PACKET_H

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Opens a raw socket for EtherType @proto bound to @ifname; sets @ret_ifindex and @ret_mac.
 * Returns the socket, or -1 with @ret_what naming the step that failed (errno says why).
 */
static inline int packet_open(const char *ifname, uint16_t proto, int *ret_ifindex,
			      uint8_t ret_mac[6], const char **ret_what)
{
	struct sockaddr_ll sa = {.sll_family = AF_PACKET, .sll_protocol = htons(proto)};
	struct ifreq ifr = {0};
	int sock = socket(AF_PACKET, SOCK_RAW, htons(proto));

	*ret_what = "socket";
	if (sock < 0)
		return -1;
	*ret_what = ifname;
	sa.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sa.sll_ifindex)
		goto err;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	*ret_what = "SIOCGIFHWADDR";
	if (ioctl(sock, SIOCGIFHWADDR, &ifr))
		goto err;
	*ret_what = "bind";
	if (bind(sock, (struct sockaddr *)&sa, sizeof(sa)))
		goto err;
	memcpy(ret_mac, ifr.ifr_hwaddr.sa_data, 6);
	*ret_ifindex = sa.sll_ifindex;
	return sock;
err:
	close(sock);
	return -1;
}

#endif /* VV_TESTS_PACKET_H */
