#include "persistence/rdb/dump_payload.h"

#include <gtest/gtest.h>
