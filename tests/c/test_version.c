/* The header and the library agree on the version (sqlite's check). */
#include "harness.h"

static void test_runtime_version_matches_the_header(void) {
    libsession_str v = libsession_version();
    CHECK(libsession_version_number() == LIBSESSION_VERSION_NUMBER);
    CHECK(LIBSESSION_VERSION_NUMBER ==
          LIBSESSION_VERSION_MAJOR * 1000000 + LIBSESSION_VERSION_MINOR * 1000 + LIBSESSION_VERSION_PATCH);
    CHECK(str_eq(v, LIBSESSION_VERSION));
    /* The version string is also a C string. */
    CHECK(v.data != NULL && v.data[v.len] == '\0');
    CHECK(strcmp((const char *)v.data, LIBSESSION_VERSION) == 0);
}

int main(void) {
    static const h_test tests[] = {
        TEST(test_runtime_version_matches_the_header),
    };
    return h_main("version", tests, sizeof tests / sizeof tests[0]);
}
