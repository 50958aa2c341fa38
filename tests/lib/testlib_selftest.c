/* The harness itself, driven by tests/lib/scratch_dir.sh: a test's scratch directory goes when
 * the run passed and stays, named, when it failed. One test here fails on purpose, so this
 * binary is not a CTest test of its own. */
#include "oks_test.h"

#include <stdio.h>

static void write_scratch_file(void)
{
    FILE *f = fopen(oks_test_tmp_path("log"), "w");
    OKS_ASSERT(f != NULL);
    fputs("a child's log\n", f);
    fclose(f);
}

OKS_TEST(writes_a_scratch_file_and_passes)
{
    write_scratch_file();
}

OKS_TEST(writes_a_scratch_file_and_fails)
{
    write_scratch_file();
    OKS_ASSERT(!"this test fails on purpose");
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
