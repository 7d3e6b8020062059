/* placeholder: the codec lands in the next commit */
#include "smpp/pdu.h"
