// SPDX-License-Identifier: MIT
/*
 * test_persist.c - the records of attach --persist in a scratch root: saved and loaded with
 * and without an owner, listed, forgotten; malformed records refused, stray files skipped.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/persist.h"

static char root[64];

static void put(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s/%s", root, VV_PERSIST_DIR, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int count(const char *bdf, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static void test_roundtrip(void **state)
{
	struct pci_persist p = {.owner = true, .uid = 65534, .gid = 100, .mode = 0660}, q;
	int n = 0;

	assert_int_equal(pci_persist_each(root, count, &n), 0); /* no directory yet */
	assert_int_equal(n, 0);
	assert_int_equal(pci_persist_load(root, "0000:01:00.0", &q), -ENOENT);
	assert_int_equal(pci_persist_save(root, "0000:01:00.0", &p), 0);
	assert_int_equal(pci_persist_save(root, "0000:02:00.0", &(struct pci_persist){0}), 0);
	assert_int_equal(pci_persist_load(root, "0000:01:00.0", &q), 0);
	assert_true(q.owner);
	assert_int_equal(q.uid, 65534);
	assert_int_equal(q.gid, 100);
	assert_int_equal(q.mode, 0660);
	assert_int_equal(pci_persist_load(root, "0000:02:00.0", &q), 0);
	assert_false(q.owner);
	/* Only canonical addresses count: not a leftover temporary file, not a note. */
	put("0000:03:00.0.tmp", "driver=vfio-pci\n");
	put("README", "notes\n");
	assert_int_equal(pci_persist_each(root, count, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pci_persist_forget(root, "0000:01:00.0"), 0);
	assert_int_equal(pci_persist_forget(root, "0000:01:00.0"), 0); /* already gone */
	assert_int_equal(pci_persist_load(root, "0000:01:00.0", &q), -ENOENT);
	assert_int_equal(pci_persist_save(root, "../../etc/x", &p), -EINVAL);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"driver=virtio-pci\n", "uid=-1\n", "uid=12x\n", "mode=0666\n", "mode=9\n", "gid=\n",
	};
	struct pci_persist q = {.uid = 7};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put("0000:04:00.0", bad[i]);
		assert_int_equal(pci_persist_load(root, "0000:04:00.0", &q), -EINVAL);
		assert_int_equal(q.uid, 7); /* untouched on failure */
	}
	put("0000:04:00.0", "# comment\nfuture=1\ndriver=vfio-pci\nuid=5\n");
	assert_int_equal(pci_persist_load(root, "0000:04:00.0", &q), 0);
	assert_int_equal(q.uid, 5);
	assert_int_equal(q.gid, (gid_t)-1);
	assert_int_equal(q.mode, 0600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_malformed),
	};
	int ret;

	snprintf(root, sizeof(root), "/tmp/vv-persist.XXXXXX");
	if (!mkdtemp(root))
		return 1;
	char cmd[128];

	ret = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) ? 1 : ret;
}
