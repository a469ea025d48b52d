/* test_u32map.c — the 32-bit-key map against GLib's table as a reference:
 * random inserts and removals (which form probe runs and holes in them),
 * replacement, key 0, reset and growth. */
#include <glib.h>

#include "tests.h"
#include "netsim/u32map.h"

/* splitmix64: keys that collide in every way a hash can make them. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Every key of ref is in m with its value, and m holds nothing else. */
static void check_same(const ns_u32map *m, GHashTable *ref)
{
    CU_ASSERT_EQUAL(ns_u32map_size(m), g_hash_table_size(ref));
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, ref);
    int missing = 0;
    while (g_hash_table_iter_next(&it, &k, &v))
        missing += ns_u32map_get(m, GPOINTER_TO_UINT(k)) != v;
    CU_ASSERT_EQUAL(missing, 0);
}

static void count_entry(uint32_t key, void *val, void *ud)
{
    GHashTable *ref = ((void **)ud)[0];
    int *bad = ((void **)ud)[1];
    *bad += g_hash_table_lookup(ref, GUINT_TO_POINTER(key)) != val;
}

static void test_random_against_reference(void)
{
    ns_u32map m = NS_U32MAP_INIT;
    GHashTable *ref = g_hash_table_new(g_direct_hash, g_direct_equal);
    uint64_t seed = 11;
    /* Keys from a small range, so that removals often hit present keys. */
    for (int round = 0; round < 20000; round++) {
        uint64_t r = next_rand(&seed);
        uint32_t key = (uint32_t)(r % 3000);
        void *val = GUINT_TO_POINTER((uint32_t)(r >> 40) | 1u);
        if ((r >> 32) % 3 == 0) {
            void *want = g_hash_table_lookup(ref, GUINT_TO_POINTER(key));
            CU_ASSERT_PTR_EQUAL(ns_u32map_take(&m, key), want);
            g_hash_table_remove(ref, GUINT_TO_POINTER(key));
            CU_ASSERT_PTR_NULL(ns_u32map_get(&m, key));
        } else {
            ns_u32map_put(&m, key, val);
            g_hash_table_insert(ref, GUINT_TO_POINTER(key), val);
        }
        if (round % 1000 == 0)
            check_same(&m, ref);
    }
    check_same(&m, ref);
    CU_ASSERT_TRUE(g_hash_table_size(ref) > 500);    /* the map really was loaded */
    int bad = 0;
    void *ud[2] = { ref, &bad };
    ns_u32map_each(&m, count_entry, ud);
    CU_ASSERT_EQUAL(bad, 0);
    g_hash_table_destroy(ref);
    ns_u32map_free(&m);
}

static void test_edges(void)
{
    ns_u32map m = NS_U32MAP_INIT;
    int a, b;
    CU_ASSERT_PTR_NULL(ns_u32map_get(&m, 0));          /* empty, no storage */
    CU_ASSERT_PTR_NULL(ns_u32map_take(&m, 0));
    ns_u32map_put(&m, 0, &a);                           /* key 0 is a key */
    ns_u32map_put(&m, UINT32_MAX, &b);
    CU_ASSERT_PTR_EQUAL(ns_u32map_get(&m, 0), &a);
    CU_ASSERT_PTR_EQUAL(ns_u32map_get(&m, UINT32_MAX), &b);
    ns_u32map_put(&m, 0, &b);                           /* replaced, not added */
    CU_ASSERT_EQUAL(ns_u32map_size(&m), 2);
    CU_ASSERT_PTR_EQUAL(ns_u32map_take(&m, 0), &b);
    CU_ASSERT_PTR_NULL(ns_u32map_take(&m, 0));
    CU_ASSERT_EQUAL(ns_u32map_size(&m), 1);
    ns_u32map_reset(&m);
    CU_ASSERT_EQUAL(ns_u32map_size(&m), 0);
    CU_ASSERT_PTR_NULL(ns_u32map_get(&m, UINT32_MAX));
    ns_u32map_free(&m);
}

/* One subnet's addresses, all removed but one by one from the middle. */
static void test_subnet_drain(void)
{
    ns_u32map m = NS_U32MAP_INIT;
    static int vals[4096];
    for (uint32_t i = 0; i < 4096; i++)
        ns_u32map_put(&m, 0x0a000000u + i, &vals[i]);
    for (uint32_t i = 1; i < 4096; i += 2)
        CU_ASSERT_PTR_EQUAL(ns_u32map_take(&m, 0x0a000000u + i), &vals[i]);
    int wrong = 0;
    for (uint32_t i = 0; i < 4096; i++)
        wrong += ns_u32map_get(&m, 0x0a000000u + i) != (i % 2 ? NULL : &vals[i]);
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(ns_u32map_size(&m), 2048);
    ns_u32map_free(&m);
}

void test_u32map_register(void)
{
    CU_pSuite s = ns_test_suite("u32map", NULL, NULL);
    ns_test_add(s, "random puts and takes match GLib's table", test_random_against_reference);
    ns_test_add(s, "key 0, replacement, reset, empty map", test_edges);
    ns_test_add(s, "a subnet's addresses, every other one removed", test_subnet_drain);
}
