#include "tests/unit.h"
#include "smpp/pdu.h"
static void test_header(void) { uint8_t b[4]; smpp_put_u32(b, 0x01020304); CHECK_EQ_INT(smpp_get_u32(b), 0x01020304); }
int main(void) { RUN(test_header); return unit_done(); }
