/* A hiredis client: pipelined SET/GET of 10 000 keys, INCR, MGET, an error reply.
 * Exits non-zero on the first mismatch. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

int main(int argc, char **argv) {
  if (argc != 3) FAIL("usage: hiredis_smoke host port");
  redisContext *c = redisConnect(argv[1], atoi(argv[2]));
  if (!c || c->err) FAIL("connect: %s", c ? c->errstr : "oom");
  const int n = 10000;
  for (int i = 0; i < n; i++) redisAppendCommand(c, "SET hs:%d val:%d", i, i);
  for (int i = 0; i < n; i++) redisAppendCommand(c, "GET hs:%d", i);
  redisReply *r;
  for (int i = 0; i < n; i++) {
    if (redisGetReply(c, (void **)&r) != REDIS_OK) FAIL("set reply %d", i);
    if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK")) FAIL("set %d: bad reply", i);
    freeReplyObject(r);
  }
  for (int i = 0; i < n; i++) {
    char want[32];
    snprintf(want, sizeof want, "val:%d", i);
    if (redisGetReply(c, (void **)&r) != REDIS_OK) FAIL("get reply %d", i);
    if (r->type != REDIS_REPLY_STRING || strcmp(r->str, want)) FAIL("get %d: bad reply", i);
    freeReplyObject(r);
  }
  r = redisCommand(c, "INCRBY hs:counter 41");
  if (!r || r->type != REDIS_REPLY_INTEGER || r->integer != 41) FAIL("incrby");
  freeReplyObject(r);
  r = redisCommand(c, "MGET hs:1 hs:nope hs:2");
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) FAIL("mget shape");
  if (strcmp(r->element[0]->str, "val:1") || r->element[1]->type != REDIS_REPLY_NIL ||
      strcmp(r->element[2]->str, "val:2")) FAIL("mget values");
  freeReplyObject(r);
  r = redisCommand(c, "INCR hs:1");
  if (!r || r->type != REDIS_REPLY_ERROR ||
      strcmp(r->str, "ERR value is not an integer or out of range")) FAIL("error reply");
  freeReplyObject(r);
  redisFree(c);
  printf("hiredis smoke: ok\n");
  return 0;
}
