/* How often HPACK's dynamic table pays for a header whose value is a
 * {{random 1 S}}: libnghttp2's own encoder (nghttp2_hd_deflate_hd, a 4,096-byte
 * table as a connection starts with) encodes 20,000 requests of bench/templates.sh's
 * shape (:method, :scheme, :authority, :path, user-agent, then x-ref: a uniform
 * 1..S), and prints, over the second 10,000, the share of requests whose x-ref
 * went out as an index into the table rather than a literal that is inserted
 * (evicting the oldest entry). It backs kMaxIndexedRandomSpan in
 * agent/h2_template.h. Not built by CMake (no CI cost):
 *   cc -O2 -Wall bench/hpack_hits.c -lnghttp2 -o /tmp/hpack_hits && /tmp/hpack_hits
 */
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nghttp2_nv nv(const char* name, const char* value) {
  nghttp2_nv f = {(uint8_t*)name, (uint8_t*)value, strlen(name), strlen(value),
                  NGHTTP2_NV_FLAG_NONE};
  return f;
}

int main(void) {
  const long spans[] = {16, 64, 100, 128, 256, 1000, 1000000};
  const long requests = 20000;
  for (size_t s = 0; s < sizeof spans / sizeof spans[0]; ++s) {
    nghttp2_hd_deflater* d;
    if (nghttp2_hd_deflate_new(&d, 4096) != 0) return 1;
    srand(1);
    nghttp2_nv fixed[] = {nv(":method", "GET"), nv(":scheme", "http"),
                          nv(":authority", "127.0.0.1:8080"), nv(":path", "/users/17"),
                          nv("user-agent", "horde/0.9")};
    uint8_t block[4096];
    char value[32];
    long indexed = 0;
    for (long i = 0; i < requests; ++i) {
      if (nghttp2_hd_deflate_hd(d, block, sizeof block, fixed, 5) < 0) return 1;
      snprintf(value, sizeof value, "%ld", 1 + rand() % spans[s]);
      nghttp2_nv ref = nv("x-ref", value);
      /* x-ref alone in its block: its first byte says how it was sent. */
      if (nghttp2_hd_deflate_hd(d, block, sizeof block, &ref, 1) < 0) return 1;
      if (i >= requests / 2 && (block[0] & 0x80) != 0) ++indexed; /* RFC 7541 6.1 */
    }
    printf("random 1 %-8ld x-ref sent as an index: %5.1f%% of requests (table %zu bytes)\n",
           spans[s], 100.0 * (double)indexed / (double)(requests / 2),
           nghttp2_hd_deflate_get_dynamic_table_size(d));
    nghttp2_hd_deflate_del(d);
  }
  return 0;
}
