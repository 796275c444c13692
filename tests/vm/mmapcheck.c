// SPDX-License-Identifier: MIT
/*
 * mmapcheck.c - for the VM tests: writes a pattern through a shared mapping of FILE at OFFSET,
 * msyncs, unmaps, and checks it with pread: `vv-mmapcheck FILE OFFSET LEN`.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	off_t off;
	size_t len, page = (size_t)sysconf(_SC_PAGESIZE), delta;
	unsigned char *map, *back;
	int fd;

	if (argc != 4)
		return 2;
	off = strtoll(argv[2], NULL, 0);
	len = strtoull(argv[3], NULL, 0);
	delta = (size_t)off % page;
	fd = open(argv[1], O_RDWR);
	if (fd < 0)
		return perror("open"), 1;
	map = mmap(NULL, len + delta, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off - (off_t)delta);
	back = malloc(len);
	if (map == MAP_FAILED || !back)
		return perror("mmap"), 1;
	for (size_t i = 0; i < len; i++)
		map[delta + i] = (unsigned char)(i * 31 + 7);
	if (msync(map, len + delta, MS_SYNC) || munmap(map, len + delta))
		return perror("msync"), 1;
	/* Drop the cached pages so the read goes to the device. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (pread(fd, back, len, off) != (ssize_t)len)
		return perror("pread"), 1;
	for (size_t i = 0; i < len; i++)
		if (back[i] != (unsigned char)(i * 31 + 7)) {
			fprintf(stderr, "byte %zu differs\n", i);
			free(back);
			return 1;
		}
	free(back);
	close(fd);
	printf("mmap: %zu bytes at %lld ok\n", len, (long long)off);
	return 0;
}
