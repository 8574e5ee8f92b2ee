// Kernel TCP loopback ping-pong floor for catnap (issue 13): 64-byte messages, client pinned to core 1, echo side to
// core 0, both spinning. Mode 0 spins on recv(MSG_DONTWAIT) (what catnap's direct mode does with one waiting socket);
// mode 1 spins on epoll_wait(0) of an edge-triggered EPOLLIN|EPOLLOUT|EPOLLRDHUP registration, then recv (catnap's
// epoll path). Prints the round trip's p50/p99 and the cost of an empty epoll_wait(0) and of a recv that says EAGAIN.
//   gcc -O2 -o /tmp/tcp-pingpong bench/tcp-pingpong.c && /tmp/tcp-pingpong 0 100000 && /tmp/tcp-pingpong 1 100000
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <errno.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/wait.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);sched_setaffinity(0,sizeof s,&s);}
static int mode;
static int cmp(const void*x,const void*y){double d=*(double*)x-*(double*)y;return d<0?-1:d>0;}
static int rd(int fd,int ep,char*b,int n){
  for(;;){
    if(mode==1){struct epoll_event e[8];int k;do k=epoll_wait(ep,e,8,0);while(k==0);}
    int r=recv(fd,b,n,MSG_DONTWAIT); if(r>0) return r; if(r==0) exit(0);
  }
}
int main(int argc,char**argv){
  mode=atoi(argv[1]); int iters=argc>2?atoi(argv[2]):100000; int port=50000+getpid()%1000;
  int l=socket(AF_INET,SOCK_STREAM,0),one=1; setsockopt(l,SOL_SOCKET,SO_REUSEADDR,&one,4);
  struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(port),.sin_addr.s_addr=htonl(0x7f000001)};
  bind(l,(void*)&a,sizeof a); listen(l,1);
  char b[64]; memset(b,'x',64);
  if(fork()==0){ pin(0); int c=accept(l,0,0); setsockopt(c,IPPROTO_TCP,TCP_NODELAY,&one,4);
    int ep=epoll_create1(0); struct epoll_event e={.events=EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET}; epoll_ctl(ep,EPOLL_CTL_ADD,c,&e);
    for(;;){ rd(c,ep,b,64); send(c,b,64,0);} }
  pin(1); int c=socket(AF_INET,SOCK_STREAM,0); connect(c,(void*)&a,sizeof a); setsockopt(c,IPPROTO_TCP,TCP_NODELAY,&one,4);
  int ep=epoll_create1(0); struct epoll_event e={.events=EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET}; epoll_ctl(ep,EPOLL_CTL_ADD,c,&e);
  static double lat[1000000]; 
  for(int i=0;i<iters;i++){double t=now(); send(c,b,64,0); rd(c,ep,b,64); lat[i]=now()-t;}
  qsort(lat,iters,sizeof(double),cmp);
  // syscall costs
  double t=now(); for(int i=0;i<200000;i++){struct epoll_event ev[8]; epoll_wait(ep,ev,8,0);} double ew=(now()-t)/200000;
  t=now(); for(int i=0;i<200000;i++) recv(c,b,64,MSG_DONTWAIT); double rv=(now()-t)/200000;
  printf("mode %d p50 %.2f us p99 %.2f us | empty epoll_wait %.0f ns, EAGAIN recv %.0f ns\n",mode,lat[iters/2]/1000,lat[iters*99/100]/1000,ew,rv);
  close(c); wait(0); return 0;
}
