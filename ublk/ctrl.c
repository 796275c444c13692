// SPDX-License-Identifier: MIT
/*
 * ctrl.c - the ublk control channel: commands to /dev/ublk-control as io_uring URING_CMDs
 * in 128-byte SQEs (Documentation/block/ublk.rst, "Control commands"), finding the ublk
 * device that serves a PCI function, and whether this kernel has ublk at all.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ublk_int.h"

int ublk_available(char *why, size_t len)
{
	if (!access(UBLK_CONTROL_PATH, F_OK)) {
		if (access(UBLK_CONTROL_PATH, R_OK | W_OK)) {
			snprintf(why, len, "%s: %s (ublk devices are created as root)",
				 UBLK_CONTROL_PATH, strerror(errno));
			return -EACCES;
		}
		return 0;
	}
	snprintf(why, len,
		 "this kernel has no ublk: %s is missing (ublk needs CONFIG_BLK_DEV_UBLK, Linux "
		 "6.0 or later; where it is a module: modprobe ublk_drv)",
		 UBLK_CONTROL_PATH);
	return -ENOENT;
}

int ublk_ctrl_open(struct ublk_ctrl *c)
{
	int ret;

	*c = (struct ublk_ctrl){.fd = open(UBLK_CONTROL_PATH, O_RDWR | O_CLOEXEC)};
	if (c->fd < 0)
		return -errno;
	/* URING_CMD to ublk needs the 128-byte SQE: the command is 32 bytes of its tail. */
	ret = io_uring_queue_init(4, &c->ring, IORING_SETUP_SQE128);
	if (ret) {
		close(c->fd);
		c->fd = -1;
		return ret;
	}
	c->ring_ok = true;
	return 0;
}

void ublk_ctrl_close(struct ublk_ctrl *c)
{
	if (c->ring_ok)
		io_uring_queue_exit(&c->ring);
	c->ring_ok = false;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int ublk_ctrl_start(struct ublk_ctrl *c, unsigned op, uint32_t dev_id, void *buf, uint16_t len,
		    uint64_t data0)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);
	struct ublksrv_ctrl_cmd cmd = {
		.dev_id = dev_id,
		.queue_id = (uint16_t)-1, /* not a queue's command: the driver insists */
		.len = len,
		.addr = (uint64_t)(uintptr_t)buf,
		.data = {data0},
	};
	int ret;

	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = c->fd;
	sqe->cmd_op = UBLK_IOC_CTRL(op);
	memcpy(sqe->cmd, &cmd, sizeof(cmd));
	ret = io_uring_submit(&c->ring);
	return ret < 0 ? ret : 0;
}

int ublk_ctrl_wait(struct ublk_ctrl *c, int timeout_ms)
{
	struct __kernel_timespec ts = {timeout_ms / 1000, (long long)(timeout_ms % 1000) * 1000000};
	struct io_uring_cqe *cqe;
	int ret;

	do
		ret = timeout_ms < 0 ? io_uring_wait_cqe(&c->ring, &cqe)
				     : io_uring_wait_cqe_timeout(&c->ring, &cqe, &ts);
	while (ret == -EINTR);
	if (ret)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&c->ring, cqe);
	return ret;
}

int ublk_ctrl_cmd(struct ublk_ctrl *c, unsigned op, uint32_t dev_id, void *buf, uint16_t len,
		  uint64_t data0, int timeout_ms)
{
	int ret = ublk_ctrl_start(c, op, dev_id, buf, len, data0);

	return ret ? ret : ublk_ctrl_wait(c, timeout_ms);
}

int ublk_ctrl_get_info(struct ublk_ctrl *c, uint32_t id, struct ublksrv_ctrl_dev_info *ret)
{
	struct ublksrv_ctrl_dev_info info;
	int r;

	/* The 6.1 layout is a prefix of every later one: the driver copies what we ask for. */
	memset(&info, 0, sizeof(info));
	r = ublk_ctrl_cmd(c, UBLK_CMD_GET_DEV_INFO, id, &info, sizeof(info), 0, 5000);
	if (!r)
		*ret = info;
	return r;
}

/* "DDDD:BB:DD.F" in 32 bits, under our magic: what ublksrv_flags holds for us. */
uint64_t ublk_bdf_tag(const char *bdf)
{
	unsigned dom, bus, dev, fn;

	if (sscanf(bdf, "%4x:%2x:%2x.%1u", &dom, &bus, &dev, &fn) != 4)
		return 0;
	return UBLK_VV_MAGIC | (uint64_t)dom << 16 | (uint64_t)bus << 8 | (dev & 0x1f) << 3 |
	       (fn & 7);
}

/*
 * Whether @pid still runs: a zombie (a killed server whose parent has not reaped it) holds
 * no device and no ring any more, so it counts as dead.
 */
static bool pid_alive(int pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool alive;

	if (pid <= 0 || (kill(pid, 0) && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	alive = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	/* "PID (COMM) STATE ...": COMM may hold spaces and parentheses, so the last ')'. */
	p = alive ? strrchr(buf, ')') : NULL;
	return !p || (p[1] == ' ' && p[2] != 'Z' && p[2] != 'X');
}

int ublk_find(const char *bdf, struct ublk_found *ret)
{
	uint64_t tag = ublk_bdf_tag(bdf);
	struct ublk_ctrl c;
	struct dirent *de;
	DIR *d;
	int found = 0, r;

	if (!tag)
		return -EINVAL;
	/* Every ublk device has a char device, /sys/class/ublk-char/ublkcN. */
	d = opendir("/sys/class/ublk-char");
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	r = ublk_ctrl_open(&c);
	if (r) {
		closedir(d);
		return r;
	}
	while (!found && (de = readdir(d))) {
		struct ublksrv_ctrl_dev_info info;
		char *end;
		long id;

		if (strncmp(de->d_name, "ublkc", 5))
			continue;
		id = strtol(de->d_name + 5, &end, 10);
		if (*end || end == de->d_name + 5 || id < 0 || id > 1 << 20)
			continue;
		if (ublk_ctrl_get_info(&c, (uint32_t)id, &info) ||
		    (info.ublksrv_flags & ~0xffffffffull) != UBLK_VV_MAGIC ||
		    info.ublksrv_flags != tag)
			continue;
		*ret = (struct ublk_found){
			.id = (int)id,
			.queues = info.nr_hw_queues,
			.depth = info.queue_depth,
			.state = info.state,
			.pid = info.ublksrv_pid,
			.server_alive = pid_alive(info.ublksrv_pid),
			.recoverable = info.flags & UBLK_F_USER_RECOVERY,
		};
		found = 1;
	}
	ublk_ctrl_close(&c);
	closedir(d);
	return found;
}
