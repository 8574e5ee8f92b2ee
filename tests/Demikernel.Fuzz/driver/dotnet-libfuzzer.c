/*
 * A libFuzzer driver for a .NET fuzz target (SharpFuzz's libFuzzer mode), written for this repository.
 *
 *   libFuzzer (libFuzzer.a)  --LLVMFuzzerTestOneInput-->  this driver  --pipe + shared memory-->  .NET process
 *
 * At start (LLVMFuzzerInitialize) the driver creates one System V shared memory segment: 64 KiB of edge counters
 * (SharpFuzz's instrumented assemblies bump them) followed by 1 MiB for the input. It starts the .NET target,
 *   FUZZ_TARGET_EXE FUZZ_TARGET_NAME
 * with the segment's id and two pipe descriptors in the environment variables SharpFuzz reads
 * (__LIBFUZZER_SHM_ID, __LIBFUZZER_CONTROL_PIPE_ID, __LIBFUZZER_STATUS_PIPE_ID), and waits for its first status word.
 * For each input: clear the counters, copy the input after them, write its length (int32) on the control pipe, read
 * the status (int32: 0 ok, else the target threw), copy the counters into libFuzzer's extra-counters section so they
 * steer the mutations, and trap on a failure so that libFuzzer saves the input as a crash artifact.
 * A .NET process that dies or hangs shows as a short read (reported, exit 1) or as libFuzzer's -timeout.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define COUNTERS_SIZE (1 << 16)
#define INPUT_SIZE (1 << 20)
#define CONTROL_FD 198
#define STATUS_FD 199

/* libFuzzer reads coverage from this section as well as from compiler instrumentation (which this file has none of). */
__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t extra_counters[COUNTERS_SIZE];

static int shm_id = -1;
static uint8_t *shared;
static int control_fd = -1, status_fd = -1;
static pid_t child = -1;

static void fail(const char *what)
{
    fprintf(stderr, "dotnet-libfuzzer: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void cleanup(void)
{
    if (shm_id >= 0) shmctl(shm_id, IPC_RMID, NULL);
    if (child > 0)
    {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
}

static int read_full(int fd, void *buffer, size_t n)
{
    size_t done = 0;
    while (done < n)
    {
        ssize_t r = read(fd, (char *)buffer + done, n - done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        done += (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buffer, size_t n)
{
    size_t done = 0;
    while (done < n)
    {
        ssize_t r = write(fd, (const char *)buffer + done, n - done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        done += (size_t)r;
    }
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *exe = getenv("FUZZ_TARGET_EXE");
    const char *name = getenv("FUZZ_TARGET_NAME");
    if (!exe || !*exe || !name || !*name)
    {
        fprintf(stderr, "dotnet-libfuzzer: set FUZZ_TARGET_EXE (the .NET harness) and FUZZ_TARGET_NAME (its target)\n");
        exit(1);
    }
    int control[2], status[2];
    if (pipe(control) || pipe(status)) fail("pipe");
    shm_id = shmget(IPC_PRIVATE, COUNTERS_SIZE + INPUT_SIZE, IPC_CREAT | IPC_EXCL | 0600);
    if (shm_id < 0) fail("shmget");
    atexit(cleanup);
    shared = shmat(shm_id, NULL, 0);
    if (shared == (void *)-1) fail("shmat");
    child = fork();
    if (child < 0) fail("fork");
    if (child == 0)
    {
        if (dup2(control[0], CONTROL_FD) < 0 || dup2(status[1], STATUS_FD) < 0) fail("dup2");
        close(control[0]);
        close(control[1]);
        close(status[0]);
        close(status[1]);
        char id[16];
        snprintf(id, sizeof id, "%d", shm_id);
        setenv("__LIBFUZZER_SHM_ID", id, 1);
        setenv("__LIBFUZZER_CONTROL_PIPE_ID", "198", 1);
        setenv("__LIBFUZZER_STATUS_PIPE_ID", "199", 1);
        execl(exe, exe, name, (char *)NULL);
        fail("exec FUZZ_TARGET_EXE");
    }
    close(control[0]);
    close(status[1]);
    control_fd = control[1];
    status_fd = status[0];
    int32_t ready;
    if (read_full(status_fd, &ready, sizeof ready))
    {
        fprintf(stderr, "dotnet-libfuzzer: the .NET target exited before it was ready\n");
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > INPUT_SIZE) return 0; /* run with -max_len below 1 MiB; longer inputs are not sent */
    memset(shared, 0, COUNTERS_SIZE);
    memcpy(shared + COUNTERS_SIZE, data, size);
    int32_t length = (int32_t)size, status;
    if (write_full(control_fd, &length, sizeof length)) fail("write to the .NET target");
    if (read_full(status_fd, &status, sizeof status))
    {
        fprintf(stderr, "dotnet-libfuzzer: the .NET target died on this input\n");
        __builtin_trap();
    }
    memcpy(extra_counters, shared, COUNTERS_SIZE);
    if (status != 0) __builtin_trap(); /* the target threw: libFuzzer saves the input as crash-<sha1> */
    return 0;
}
