"""Fan-out bench: one action reaching 20,000 people, at the providers' real limits, simulated.

`python -m bench.fanout` runs it (its options: bench/fanout/__main__.py). The modules:
world (the parameters, moto with the template's tables, the people), sqs (the queues and the
Lambda instances they feed), providers (SNS and Connect with their limits and faults),
simulation (the clock-driven run) and report (the figures, one JSON object per channel).

It drives the real code: `start_action`, `targeting.target`, `sending.send`, `call_ended`,
`close_action` and `fan_out_results`, with the real adapters (SnsSms, ConnectVoice, SnsPush) and
the real ledger. The ledger runs on moto, in-process (`mock_aws`), not on DynamoDB: its speed says
nothing about DynamoDB's, so every DynamoDB request is charged a fixed simulated latency instead.
The bench's own speed comes from three bench-only patches (world.py installs them): item requests
go from botocore's client straight to moto's handler methods (bench/dynamo_direct.py: no HTTP,
signing or model-driven parsing; botocore's retries and error parsing kept), moto parses each
expression string once (bench/moto_parsers.py), and an index query reads a value index instead of
walking the table (bench/moto_gsi.py).

What is simulated (bench/simclock.py runs it on a simulated clock, deterministically per seed):
- Providers, as fake boto clients behind the real adapters: SNS SMS at `rate` messages/s (a token
  bucket shared by every sender instance, holding one second of rate); Amazon Connect with 2 call
  starts/s (burst 5, its API's throttling quota) and 10 lines, calls of 20-60 s of which 30 % go
  unanswered, each ending with a contact event that invokes `call_ended`; SNS push at 500/s. On
  every channel 5 % of requests are throttled and 1 % time out after the provider accepted them
  (botocore's ReadTimeoutError: the adapter makes it an ambiguous SendFailed).
- SQS and Lambda: per queue the template's visibility timeout and maxReceiveCount (then the
  dead-letter queue), DelaySeconds, receive counts, batch size 1, and MaximumConcurrency =
  SENDERS[channel] instances, each with its own Sender (its own pacer share). A failed invocation
  leaves its message to come back when its sender's hold ends (queues.Hold: SMS at most 4 s after
  its last renewal), or after the visibility timeout if it never held it.
- Latencies (simulated): DynamoDB 5 ms a request, SQS SendMessageBatch 10 ms, SNS Publish 20 ms,
  StartOutboundVoiceContact 100 ms, 10 ms from a visible message to its handler, 500 ms from a
  call's end to its contact event. Requests the code makes from its own thread pools (claims,
  place queries) are charged to the process that waits for them, in waves of 8.

Busy time, and so `quota_use`, counts the seconds in which a channel had work waiting: a message
visible or in flight, a put-back message (throttled, lines busy) waiting out its delay, a chunk
whose invocation died waiting out its visibility timeout ("stuck": the crash tail), or (voice) a
call in progress. `quota_use_without_stuck` leaves out the seconds in which only stuck chunks
waited, as `quota_use` did before. Work delayed on purpose and never started (an unanswered
call's retry after 300 s, quiet hours) and an ambiguous alert waiting for its receipt or its
reconciliation (one person, settled in minutes: see `time_to_last_alert_s`) do not count.

Voice has two limits: 2 call starts/s and 10 lines. With calls of 20-60 s (40 s on average) the
lines allow only 10 / 40 = 0.25 starts/s, so they bind long before the start rate: `start_use`
is starts / (2 x busy seconds), `line_use` is line-seconds in calls / (10 x busy seconds), and
`quota_use` is the use of the binding limit (`binding`).

Voice senders wait for a free line by polling `lines.acquire` every 0.5 s (ten conditional
writes when every line is taken). A poll while every line is taken changes nothing, so the bench
skips those: a waiting sender resumes at its first poll time after a release at which a line is
still free (read from moto's table), or at its last poll before `line_wait_s` runs out.
`--exact-polls` runs every poll (several times slower); `line_poll_writes` counts the writes
the real polls make, skipped ones included. Skipping can only delay a sender, by at most one
poll, when a line comes free in the 50 ms in which a real poll would be running.

Per channel the output also says where the instances' time went (`instance_s`: DynamoDB, SQS,
provider calls, pacing, waiting for a line, invocation start), how many instance-seconds were
idle while the channel was busy, and the seconds in which only one kind of work kept it busy
(`busy_only_s`: "backoff" is put-back work waiting out its delay, "calls" is calls in progress).
Participant and action ids come from a seeded generator, so a seed gives the same run every time.

Output: one JSON object per channel per SMS rate on stdout; progress on stderr.
"""
