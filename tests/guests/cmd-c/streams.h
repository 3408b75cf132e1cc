/* Stream and poll calls that pass several borrowed handles at once (see streams.c). */
#ifndef CMD_STREAMS_H
#define CMD_STREAMS_H

/* Copy standard input to standard output with output-stream.blocking-splice; the byte count,
 * or -1 if a stream failed. */
long long splice_stdin_to_stdout(void);

/* Read standard input to its end asking blocking-read for 2^64-1 bytes each time; the byte
 * count, or -1 if the stream failed. */
long long read_all_stdin_unbounded(void);

/* poll_oneoff on two monotonic-clock subscriptions (10 ms and 60 s): how many fired (1), or
 * minus the WASI errno. */
int poll_two_clocks(void);

#endif
