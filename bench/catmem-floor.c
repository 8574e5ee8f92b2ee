// The floor under catmem's ring protocols, without .NET or the libOS: two threads pinned to cores 0 and 1 ping-pong
// one 64-byte message (issue 13, bench/README.md "catmem round trip (issue 13, second pass)"). Modes:
//   0  a flag only (one line each way: the machine's floor)
//   1  data line, then a separate tail line (the consumer reads the tail, then the data: catmem before the change)
//   2  as 1, and the producer reads the consumer's head line before writing, the consumer stores its head + a fence
//   3  data and its header in one line (the consumer polls the header word at its position: catmem's record ring)
// Build and run:  gcc -O2 -o /tmp/catmem-floor bench/catmem-floor.c -lpthread && for m in 0 1 2 3; do /tmp/catmem-floor $m; done
// An optional second argument sets the number of round trips (1,000,000 by default and at most): bench/latency.sh runs
// mode 0 for 100,000 (tens of milliseconds) around each round as a probe of where the host has put the two vCPUs.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>
typedef struct { volatile uint64_t tail; char p1[56]; volatile uint64_t head; char p2[56]; volatile uint64_t data[8]; } ring;
static ring r1 __attribute__((aligned(64))), r2 __attribute__((aligned(64)));
static int mode;
#define N 1000000
static uint64_t lat[N];
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);pthread_setaffinity_np(pthread_self(),sizeof s,&s);}
static volatile uint64_t sink;
static void send(ring*r,uint64_t i){
  if(mode==2){ sink=r->head; }
  if(mode==3){ for(int k=1;k<8;k++) r->data[k]=i; __atomic_store_n(&r->data[0],i,__ATOMIC_RELEASE); return; }
  if(mode>=1) for(int k=0;k<8;k++) r->data[k]=i;
  __atomic_store_n(&r->tail,i,__ATOMIC_RELEASE);
}
static void recv(ring*r,uint64_t i){
  if(mode==3){ while(__atomic_load_n(&r->data[0],__ATOMIC_ACQUIRE)!=i); sink=r->data[7]; return; }
  while(__atomic_load_n(&r->tail,__ATOMIC_ACQUIRE)!=i);
  if(mode>=1){ uint64_t s=0; for(int k=0;k<8;k++) s+=r->data[k]; sink=s; }
  if(mode==2){ r->head=i; __atomic_thread_fence(__ATOMIC_SEQ_CST); }
}
static uint64_t n=N;
static void* srv(void*x){pin(0);for(uint64_t i=1;i<=n;i++){recv(&r1,i);send(&r2,i);}return 0;}
static uint64_t ns(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000ull+t.tv_nsec;}
static int cmp(const void*x,const void*y){uint64_t p=*(uint64_t*)x,q=*(uint64_t*)y;return p<q?-1:p>q;}
int main(int c,char**v){mode=atoi(v[1]);if(c>2){n=strtoull(v[2],0,10);if(n<10||n>N)n=N;}
pthread_t t;pthread_create(&t,0,srv,0);pin(1);for(uint64_t i=1;i<=n;i++){uint64_t s=ns();send(&r1,i);recv(&r2,i);lat[i-1]=ns()-s;}
pthread_join(t,0);qsort(lat,n,8,cmp);printf("mode %d p50 %lu ns p10 %lu p90 %lu\n",mode,lat[n/2],lat[n/10],lat[n*9/10]);}
