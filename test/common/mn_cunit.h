/* mn_cunit: runs one CUnit suite from a table of tests, verbose, and turns
 * the result into an exit status (0 all passed, 1 a failure, 2 CUnit
 * itself failed). Header-only. */
#ifndef MN_CUNIT_H
#define MN_CUNIT_H

#include <CUnit/Basic.h>

struct mn_cu_test {
	const char *name;
	void (*fn)(void);
};

static inline int mn_cu_run(const char *suite, const struct mn_cu_test *tests, unsigned n)
{
	CU_pSuite s;
	unsigned failed, i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite(suite, NULL, NULL);
	if (!s)
		goto fail;
	for (i = 0; i < n; i++)
		if (!CU_add_test(s, tests[i].name, tests[i].fn))
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
fail:
	CU_cleanup_registry();
	return 2;
}

#endif
