// SPDX-License-Identifier: MIT
/*
 * inuse_net.c - finds what uses a virtio-net function's interface, in this network namespace
 * or any other: up, addresses, a bridge or bond it is a member of, VLANs or macvlans on top
 * of it, an XDP program.
 *
 * sysfs shows only the interfaces of the namespace it was mounted in, so an interface given
 * to a container is invisible from here. Every namespace reachable through /proc/PID/ns/net
 * or a bind mount (ip netns) is entered by a child process (setns), which mounts a sysfs of
 * that namespace in a mount namespace of its own, finds the function's interface there the
 * way it is found here, and sends back what it saw through a pipe. (ethtool's bus_info
 * cannot tell: virtio_net leaves it empty in 6.1.)
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/inuse_int.h"

/* What the system does with one interface; filled from sysfs or from netlink. */
struct link_info {
	char name[IF_NAMESIZE];
	unsigned flags;
	char master[IF_NAMESIZE], master_kind[16];
	char upper[IF_NAMESIZE], upper_kind[16];
	unsigned xdp_prog; /* 0: none */
	char addr[INET6_ADDRSTRLEN];
};

/* The namespace an interface was found in: "" for ours. */
struct ns_name {
	char what[300]; /* " in network namespace peer" */
	char ip[300];	/* how to run ip(8) there: "ip", "ip -n peer", "nsenter -t 123 -n ip" */
};

/* The verdict, shared by every way of looking: returns 1 with @u filled, or 0. */
static int link_in_use(const struct link_info *l, const struct ns_name *ns, struct pci_user *u)
{
	char cmd[sizeof(u->release)];
	const char *in = ns->what, *p = ns->ip;

	if (*l->master) {
		snprintf(cmd, sizeof(cmd), "%s link set %s nomaster", p, l->name);
		use_set(u, cmd, "interface %s%s is a member of %s %s", l->name, in,
			*l->master_kind ? l->master_kind : "device", l->master);
	} else if (*l->upper) {
		snprintf(cmd, sizeof(cmd), "%s link del %s", p, l->upper);
		use_set(u, cmd, "interface %s%s carries %s %s", l->name, in,
			*l->upper_kind ? l->upper_kind : "device", l->upper);
	} else if (l->xdp_prog) {
		snprintf(cmd, sizeof(cmd), "%s link set %s xdp off", p, l->name);
		use_set(u, cmd, "interface %s%s runs XDP program %u", l->name, in, l->xdp_prog);
	} else if (l->flags & IFF_UP) {
		snprintf(cmd, sizeof(cmd), "%s link set %s down", p, l->name);
		use_set(u, cmd, "interface %s%s is up", l->name, in);
	} else if (*l->addr) {
		snprintf(cmd, sizeof(cmd), "%s addr flush dev %s", p, l->name);
		use_set(u, cmd, "interface %s%s has address %s", l->name, in, l->addr);
	} else if (*in) {
		/* Given to a container: whoever did that means it to be used there. */
		snprintf(cmd, sizeof(cmd), "%s link set %s netns 1", p, l->name);
		use_set(u, cmd, "interface %s is%s", l->name, in);
	} else {
		return 0;
	}
	return 1;
}

/* The first IPv4 or IPv6 address of @l, in the calling thread's network namespace. */
static void link_addr(struct link_info *l)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa))
		return;
	for (i = ifa; i && !*l->addr; i = i->ifa_next) {
		if (!i->ifa_addr || strcmp(i->ifa_name, l->name))
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr,
				  l->addr, sizeof(l->addr));
		else if (i->ifa_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, l->addr,
				  sizeof(l->addr));
	}
	freeifaddrs(ifa);
}

/* ---- sysfs (a fake tree) ------------------------------------------------------------- */

/* DEVTYPE= of a net device's uevent: bridge, bond, vlan, macvlan... */
static void devtype(const char *root, const char *ifname, char *buf, size_t len)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	FILE *f;

	*buf = '\0';
	if (sysfs_path(path, sizeof(path), root, "/sys/class/net/%s/uevent", ifname))
		return;
	f = fopen(path, "re");
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0)
		if (!strncmp(line, "DEVTYPE=", 8)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "%s", line + 8);
		}
	free(line);
	fclose(f);
}

static void link_from_sysfs(const char *root, const char *ifname, struct link_info *l)
{
	char path[PATH_MAX], val[PATH_MAX];
	struct dirent *de;
	ssize_t n;
	DIR *d;

	snprintf(l->name, sizeof(l->name), "%s", ifname);
	if (!sysfs_path(path, sizeof(path), root, "/sys/class/net/%s/flags", ifname) &&
	    sysfs_read(path, val, sizeof(val)) > 0)
		l->flags = (unsigned)strtoul(val, NULL, 0);
	if (!sysfs_path(path, sizeof(path), root, "/sys/class/net/%s/master", ifname) &&
	    (n = readlink(path, val, sizeof(val) - 1)) > 0) {
		val[n] = '\0';
		fmt_into(l->master, "%s", strrchr(val, '/') ? strrchr(val, '/') + 1 : val);
		devtype(root, l->master, l->master_kind, sizeof(l->master_kind));
	}
	/* upper_NAME links: the master is one of them too. */
	if (sysfs_path(path, sizeof(path), root, "/sys/class/net/%s", ifname))
		return;
	d = opendir(path);
	if (!d)
		return;
	while (!*l->upper && (de = readdir(d))) {
		if (strncmp(de->d_name, "upper_", 6) || !strcmp(de->d_name + 6, l->master))
			continue;
		snprintf(l->upper, sizeof(l->upper), "%s", de->d_name + 6);
		devtype(root, l->upper, l->upper_kind, sizeof(l->upper_kind));
	}
	closedir(d);
}

/* The system's own sysfs, when netlink would not say: what it shows, and the addresses. */
static int from_sysfs(const char *ifname, struct link_info *l)
{
	memset(l, 0, sizeof(*l));
	link_from_sysfs(NULL, ifname, l);
	link_addr(l);
	return 1;
}

/* ---- netlink (the system) ----------------------------------------------- */

struct nl_link {
	int index, master, lower; /* lower: IFLA_LINK in this namespace */
	unsigned flags, xdp_prog;
	char name[IF_NAMESIZE], kind[16];
};

/*
 * RTA_NEXT, IFLA_RTA and NLMSG_NEXT step through char *, which clang's -Wcast-align flags;
 * netlink keeps every attribute and message 4-aligned (RTA_ALIGN, NLMSG_ALIGN).
 */
static struct rtattr *rta_next(struct rtattr *rta, int *len)
{
	*len -= (int)RTA_ALIGN(rta->rta_len);
	return (void *)((char *)rta + RTA_ALIGN(rta->rta_len));
}

static struct nlmsghdr *nlmsg_next(struct nlmsghdr *nh, ssize_t *len)
{
	*len -= (ssize_t)NLMSG_ALIGN(nh->nlmsg_len);
	return (void *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
}

static void parse_linkinfo(struct rtattr *rta, int len, struct nl_link *l)
{
	for (; RTA_OK(rta, len); rta = rta_next(rta, &len))
		if (rta->rta_type == IFLA_INFO_KIND)
			snprintf(l->kind, sizeof(l->kind), "%.*s", (int)RTA_PAYLOAD(rta),
				 (char *)RTA_DATA(rta));
}

static void parse_xdp(struct rtattr *rta, int len, struct nl_link *l)
{
	for (; RTA_OK(rta, len); rta = rta_next(rta, &len))
		if (rta->rta_type == IFLA_XDP_PROG_ID && RTA_PAYLOAD(rta) >= 4)
			memcpy(&l->xdp_prog, RTA_DATA(rta), 4);
}

static void parse_link(struct nlmsghdr *nh, struct nl_link *l)
{
	struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = (int)IFLA_PAYLOAD(nh), other_ns = 0;
	struct rtattr *rta;

	memset(l, 0, sizeof(*l));
	l->index = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	for (rta = (void *)((char *)ifi + NLMSG_ALIGN(sizeof(*ifi))); RTA_OK(rta, len);
	     rta = rta_next(rta, &len)) {
		switch (rta->rta_type) {
		case IFLA_IFNAME:
			snprintf(l->name, sizeof(l->name), "%.*s", (int)RTA_PAYLOAD(rta),
				 (char *)RTA_DATA(rta));
			break;
		case IFLA_MASTER:
			memcpy(&l->master, RTA_DATA(rta), 4);
			break;
		case IFLA_LINK:
			memcpy(&l->lower, RTA_DATA(rta), 4);
			break;
		case IFLA_LINK_NETNSID:
			other_ns = 1;
			break;
		case IFLA_LINKINFO:
			parse_linkinfo(RTA_DATA(rta), (int)RTA_PAYLOAD(rta), l);
			break;
		case IFLA_XDP:
			parse_xdp(RTA_DATA(rta), (int)RTA_PAYLOAD(rta), l);
			break;
		}
	}
	if (other_ns || l->lower == l->index)
		l->lower = 0; /* a veth's peer elsewhere, or a device's own index */
}

/* Every link of the calling thread's namespace (RTM_GETLINK dump). Returns the count. */
static int nl_links(struct nl_link **ret)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = {.nlmsg_len = sizeof(req),
		       .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		       .nlmsg_seq = 1},
		.ifi = {.ifi_family = AF_UNSPEC},
	};
	struct nl_link *links = NULL, *grown;
	int fd, n = 0, cap = 0, done = 0, err = 0;
	char *buf;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	buf = malloc(32768);
	if (!buf || send(fd, &req, sizeof(req), 0) < 0)
		err = buf ? -errno : -ENOMEM;
	while (!err && !done) {
		ssize_t len = recv(fd, buf, 32768, 0);
		struct nlmsghdr *nh;

		if (len <= 0) {
			err = len < 0 ? -errno : -EIO;
			break;
		}
		for (nh = (void *)buf; NLMSG_OK(nh, (size_t)len); nh = nlmsg_next(nh, &len)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				err = -EIO;
				break;
			}
			if (nh->nlmsg_type != RTM_NEWLINK)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				grown = realloc(links, (size_t)cap * sizeof(*links));
				if (!grown) {
					err = -ENOMEM;
					break;
				}
				links = grown;
			}
			parse_link(nh, &links[n++]);
		}
	}
	free(buf);
	close(fd);
	if (err) {
		free(links);
		return err;
	}
	*ret = links;
	return n;
}

static const struct nl_link *by_index(const struct nl_link *links, int n, int index)
{
	for (int i = 0; i < n; i++)
		if (links[i].index == index)
			return &links[i];
	return NULL;
}

/* Looks for interface @ifname in the calling thread's namespace. Returns 1, 0 or -errno. */
static int scan_here(const char *ifname, struct link_info *l)
{
	const struct nl_link *me = NULL, *m;
	struct nl_link *links = NULL;
	int n;

	n = nl_links(&links);
	if (n < 0)
		return n;
	for (int i = 0; i < n && !me; i++)
		if (!strcmp(links[i].name, ifname))
			me = &links[i];
	if (me) {
		memset(l, 0, sizeof(*l));
		snprintf(l->name, sizeof(l->name), "%s", me->name);
		l->flags = me->flags;
		l->xdp_prog = me->xdp_prog;
		m = me->master ? by_index(links, n, me->master) : NULL;
		if (m) {
			snprintf(l->master, sizeof(l->master), "%s", m->name);
			snprintf(l->master_kind, sizeof(l->master_kind), "%s", m->kind);
		}
		for (int i = 0; i < n && !*l->upper; i++)
			if (links[i].lower == me->index) {
				snprintf(l->upper, sizeof(l->upper), "%s", links[i].name);
				snprintf(l->upper_kind, sizeof(l->upper_kind), "%s", links[i].kind);
			}
		link_addr(l);
	}
	free(links);
	return me != NULL;
}

/* ---- the other namespaces ------------------------------------------------------------ */

struct netns {
	dev_t dev;
	ino_t ino;
	char path[PATH_MAX];
	struct ns_name name;
};

struct ns_list {
	struct netns *ns;
	int n, cap;
	dev_t self_dev;
	ino_t self_ino;
};

/* Adds the namespace @path names unless it is ours or known; the caller names it. */
static struct netns *ns_add(struct ns_list *l, const char *path)
{
	struct stat st;
	struct netns *grown;

	if (stat(path, &st))
		return NULL;
	if (st.st_dev == l->self_dev && st.st_ino == l->self_ino)
		return NULL;
	for (int i = 0; i < l->n; i++)
		if (l->ns[i].dev == st.st_dev && l->ns[i].ino == st.st_ino)
			return NULL;
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 16;

		grown = realloc(l->ns, (size_t)cap * sizeof(*grown));
		if (!grown)
			return NULL;
		l->ns = grown;
		l->cap = cap;
	}
	l->ns[l->n].dev = st.st_dev;
	l->ns[l->n].ino = st.st_ino;
	snprintf(l->ns[l->n].path, sizeof(l->ns[l->n].path), "%s", path);
	return &l->ns[l->n++];
}

/* `ip netns add NAME` bind-mounts a namespace that may have no process in it. */
static bool collect_nsfs(const char *root, const struct mount_ent *m, void *arg)
{
	struct ns_list *l = arg;
	struct netns *ns;
	const char *base;
	char esc[256];
	int fd;

	if (strcmp(m->fstype, "nsfs"))
		return false;
	fd = open(m->mnt, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET && (ns = ns_add(l, m->mnt))) {
		base = strrchr(m->mnt, '/') + 1;
		if (!strncmp(m->mnt, "/run/netns/", 11) ||
		    !strncmp(m->mnt, "/var/run/netns/", 15)) {
			escape_bytes(base, esc, sizeof(esc));
			fmt_into(ns->name.what, " in network namespace %s", esc);
			fmt_into(ns->name.ip, "ip -n %s", esc);
		} else {
			escape_bytes(m->mnt, esc, sizeof(esc));
			fmt_into(ns->name.what, " in the network namespace bound at %s", esc);
			fmt_into(ns->name.ip, "nsenter --net=%s ip", esc);
		}
	}
	close(fd);
	return false;
}

static void collect_procs(struct ns_list *l)
{
	char path[PATH_MAX], comm[256];
	struct netns *ns;
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return;
	while ((de = readdir(d))) {
		int pid = atoi(de->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
		ns = ns_add(l, path);
		if (!ns)
			continue;
		proc_comm(NULL, pid, comm, sizeof(comm));
		fmt_into(ns->name.what, " in the network namespace of process %d (%s)", pid, comm);
		snprintf(ns->name.ip, sizeof(ns->name.ip), "nsenter -t %d -n ip", pid);
	}
	closedir(d);
}

struct ns_reply {
	int found;
	struct link_info link;
};

/*
 * In the child, entered into namespace @fd: a sysfs mounted now shows that namespace's
 * interfaces. It goes on /sys in a private mount namespace, so nobody else sees it.
 */
static int scan_child(int fd, const char *bdf, struct link_info *l)
{
	struct kname names[PCI_MAX_KNAMES];
	int n;

	if (setns(fd, CLONE_NEWNET) || unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return -errno;
	n = pci_sysfs_knames(NULL, bdf, names, ARRAY_SIZE(names));
	for (int i = 0; i < n; i++)
		if (names[i].kind == KNAME_NET)
			return scan_here(names[i].name, l) > 0 ? 1 : from_sysfs(names[i].name, l);
	return n < 0 ? n : 0;
}

/* Scans one namespace from a child process: setns() would move this whole process. */
static int scan_other(const struct netns *ns, const char *bdf, struct link_info *l)
{
	struct ns_reply r = {0};
	int pfd[2], fd, status;
	ssize_t got;
	pid_t pid;

	fd = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* gone since */
	if (pipe2(pfd, O_CLOEXEC)) {
		close(fd);
		return -errno;
	}
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		r.found = scan_child(fd, bdf, &r.link);
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(fd);
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return -errno;
	}
	do
		got = read(pfd[0], &r, sizeof(r));
	while (got < 0 && errno == EINTR);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got != sizeof(r))
		return -EIO;
	if (r.found > 0)
		*l = r.link;
	return r.found;
}

static int scan_all(const char *bdf, struct link_info *l, struct ns_name *ret_ns)
{
	struct ns_list list = {0};
	struct stat st;
	char mnt[8];
	int ret = 0;

	if (stat("/proc/self/ns/net", &st))
		return -errno;
	list.self_dev = st.st_dev;
	list.self_ino = st.st_ino;
	mount_walk(NULL, collect_nsfs, &list, mnt, sizeof(mnt));
	collect_procs(&list);
	for (int i = 0; i < list.n && !ret; i++) {
		ret = scan_other(&list.ns[i], bdf, l);
		if (ret == -EPERM || ret == -EACCES)
			ret = 0; /* not ours to enter; a non-root list sees what it can */
		if (ret > 0)
			*ret_ns = list.ns[i].name;
	}
	free(list.ns);
	return ret;
}

int net_in_use(const char *root, const char *bdf, const struct kname *names, int n,
	       struct pci_user *u)
{
	static const struct ns_name here = {"", "ip"};
	struct ns_name ns = here;
	struct link_info l = {0};
	char drv[64];
	int ret = 0;

	for (int i = 0; i < n; i++) {
		if (names[i].kind != KNAME_NET)
			continue;
		memset(&l, 0, sizeof(l));
		if (root && *root)
			link_from_sysfs(root, names[i].name, &l);
		else if (scan_here(names[i].name, &l) <= 0)
			from_sysfs(names[i].name, &l);
		if (link_in_use(&l, &here, u))
			return 1;
		ret = -EEXIST; /* found here: it is in no other namespace */
	}
	/* A virtio-net function whose interface this namespace's sysfs does not show. */
	if (ret || (root && *root) || pci_sysfs_virtio_driver(NULL, bdf, drv, sizeof(drv)) ||
	    strcmp(drv, "virtio_net"))
		return 0;
	ret = scan_all(bdf, &l, &ns);
	if (ret <= 0)
		return ret;
	return link_in_use(&l, &ns, u);
}
