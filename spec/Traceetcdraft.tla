--------------------------- MODULE Traceetcdraft ---------------------------
(***************************************************************************)
(* Trace validation: replays a trace of raft-core (recorded while a        *)
(* raft-conformance script ran) against the actions of etcdraft, checking *)
(* that every step of the implementation is a step the specification      *)
(* allows, with the same messages and the same resulting state.           *)
(*                                                                         *)
(* The trace is the generated module TraceData (raft-script trace-tla;    *)
(* see README.md, "Trace validation"). TraceLog is a sequence of records: *)
(*                                                                         *)
(*  [kind |-> "step", seq, last, node, msg, sends, lease, state]: node    *)
(*     stepped msg (from a peer, a local trigger such as MsgHup or a      *)
(*     client's MsgProp, or its own vote or append acknowledgement        *)
(*     delivered on advance), sent the messages `sends` (replies, vote    *)
(*     requests, a forwarded proposal) and was left in `state` ([term,    *)
(*     vote, role, lead, commit, first, terms, elapsed, timeout,          *)
(*     hbElapsed]: `terms` are the terms of the log from index `first`    *)
(*     on; the last three are the timers); lease = TRUE if it ignored msg *)
(*     because of CheckQuorum's leader lease.                             *)
(*  [kind |-> "tick", seq, last, node, sends, state]: node's clock ticked;*)
(*     it sent `sends` (vote requests, heartbeats) and was left in state. *)
(*  [kind |-> "send", seq, node, msg]: a leader's MsgApp, sent by the     *)
(*     step just before it.                                               *)
(*  [kind |-> "drop", seq, node, msg]: msg left the network unreceived.   *)
(*  [kind |-> "timeout", seq, node, timeout]: the script set the node's   *)
(*     randomized election timeout.                                       *)
(*                                                                         *)
(* `seq` is the trace event that opens the record, `last` the one that    *)
(* closes a step (the events of a step lie between them).                 *)
(*                                                                         *)
(* A cursor l walks the records; each enables exactly the matching        *)
(* action, constrained to produce what the record says. The replay is     *)
(* deterministic, so a trace the specification cannot produce shows up as *)
(* a deadlock at the first record it cannot match (TLC runs WITHOUT       *)
(* -deadlock here), and a fully replayed trace stutters at the end and    *)
(* prints "trace accepted" with the number of records replayed. An empty  *)
(* trace is refused (ASSUME below). The invariants and action properties  *)
(* of MCetcdraft are checked on every state of the replay as well.        *)
(***************************************************************************)
EXTENDS MCetcdraft, TraceData

\* The trace, with etcd's None (node id 0, the empty entry's payload) as
\* the specification's None.
Log == TraceLog(None)
Start == TraceInit(None)

\* A trace without records would be "accepted" without checking anything.
ASSUME Len(TraceLog(None)) >= 1

MsgHup == "MsgHup"

\* raft-core, like etcd, answers a stale MsgApp or MsgHeartbeat when either
\* pre-vote or CheckQuorum is on; the specification has no CheckQuorum and
\* answers when PreVote is on. Its handler, read with PreVote standing for
\* "pre-vote or CheckQuorum", is the one used for stale messages.
StaleRule == INSTANCE etcdraft WITH PreVote <- TracePreVote \/ TraceCheckQuorum

VARIABLE l  \* index in Log of the next record to replay

traceVars == <<vars, l>>

----------------------------------------------------------------------------
(* The initial state: each server as the script created it. Entries below *)
(* the first known index were compacted into the script's initial          *)
(* snapshot; they are taken to have the snapshot's term (only their        *)
(* number matters to the protocol, which never reads below the commit      *)
(* index).                                                                  *)

LogOf(s) ==
    [k \in 1..(s.first + Len(s.terms) - 1) |->
        [term |-> IF k < s.first THEN s.terms[1] ELSE s.terms[k - s.first + 1],
         value |-> None]]

ReplayInit ==
    /\ currentTerm   = [i \in Server |-> Start[i].term]
    /\ votedFor      = [i \in Server |-> Start[i].vote]
    /\ log           = [i \in Server |-> LogOf(Start[i])]
    /\ commitIndex   = [i \in Server |-> Start[i].commit]
    /\ state         = [i \in Server |-> Start[i].role]
    /\ leader        = [i \in Server |-> Start[i].lead]
    /\ votesGranted  = [i \in Server |-> {}]
    /\ votesRejected = [i \in Server |-> {}]
    /\ matchIndex    = [i \in Server |-> [j \in Server |-> 0]]
    /\ nextIndex     = [i \in Server |-> [j \in Server |-> 1]]
    \* A leader's election timer and randomized timeout are not modelled
    \* (etcdraft keeps them at 0 and ElectionTimeout).
    /\ electionElapsed   = [i \in Server |->
                              IF Start[i].role = StateLeader THEN 0 ELSE Start[i].elapsed]
    /\ randomizedTimeout = [i \in Server |->
                              IF Start[i].role = StateLeader THEN ElectionTimeout
                              ELSE Start[i].timeout]
    /\ heartbeatElapsed  = [i \in Server |-> Start[i].hbElapsed]
    /\ messages      = [m \in {} |-> 0]
    /\ l = 1

----------------------------------------------------------------------------
(* What a step record says about the state after the step.                *)

LogMatches(lg, s) ==
    /\ Len(lg) = s.first + Len(s.terms) - 1
    /\ \A k \in 1..Len(s.terms) :
           LET n == s.first + k - 1
           IN  (IF n = 0 THEN 0 ELSE lg[n].term) = s.terms[k]

StateMatches(i, s) ==
    /\ currentTerm'[i] = s.term
    /\ votedFor'[i]    = s.vote
    /\ state'[i]       = s.role
    /\ leader'[i]      = s.lead
    /\ commitIndex'[i] = s.commit
    /\ LogMatches(log'[i], s)
    /\ heartbeatElapsed'[i] = s.hbElapsed
    /\ s.role /= StateLeader =>
           /\ electionElapsed'[i] = s.elapsed
           /\ randomizedTimeout'[i] = s.timeout

RECURSIVE SendAll(_, _)
SendAll(ms, bag) ==
    IF ms = <<>> THEN bag ELSE SendAll(Tail(ms), WithMessage(Head(ms), bag))

\* Local triggers: steps in raft-core, no message on the network. (MsgBeat
\* and MsgCheckQuorum are stepped inside a tick, which is one record.) A
\* MsgProp is local when a client hands it to the node (no destination),
\* and on the network when a follower forwarded it.
LocalTypes == {MsgHup, "MsgUnreachable", "MsgForgetLeader"}

Nothing == UNCHANGED vars

----------------------------------------------------------------------------
(* Mappings of implementation steps onto the specification.                *)

\* EXTENSION (the specification campaigns only when the election timer
\* runs out, in Tick): RawNode::campaign steps MsgHup at any time. A
\* leader ignores it; anyone else campaigns as TickElection does when its
\* timer runs out, except that the timer is not touched (etcd's hup, unlike
\* tickElection, does not reset it; becomeCandidate does).
ReplayCampaign(i) ==
    IF state[i] = StateLeader THEN Nothing
    ELSE /\ UNCHANGED logVars
         /\ IF PreVote
            THEN /\ PreCampaign(i)
                 /\ UNCHANGED electionElapsed
                 /\ messages' = AddAll(PreVoteRequests(i), messages)
            ELSE /\ Campaign(i)
                 /\ messages' = AddAll(VoteRequests(i), messages)

\* A client's proposal: ClientRequest appends it at a leader and forwards
\* it from a follower that knows its leader, unless forwarding is
\* disabled. Anywhere else it is dropped, which is no step; a leader also
\* drops it over its uncommitted-size limit (not in the specification).
ReplayProposal(i, m) ==
    /\ Len(m.mentries) = 1
    /\ m.mentries[1].value \in Value
    /\ IF state[i] = StateLeader
       THEN ClientRequest(i, m.mentries[1].value) \/ Nothing
       ELSE IF state[i] = StateFollower /\ leader[i] /= None /\ ~DisableProposalForwarding
            THEN ClientRequest(i, m.mentries[1].value)
            ELSE Nothing

\* A tick: Tick, or, EXTENSION (CheckQuorum is not in the specification),
\* a leader that has not heard from a quorum during an election timeout
\* steps down in its term instead of sending heartbeats.
ReplayTick(e) ==
    LET i == e.node
    IN  /\ \/ Tick(i)
           \/ /\ TraceCheckQuorum
              /\ state[i] = StateLeader
              /\ BecomeFollower(i, currentTerm[i], None)
              /\ UNCHANGED <<logVars, messages>>
        /\ messages' = SendAll(e.sends, messages)
        /\ StateMatches(i, e.state)
        /\ l' = l + 1

\* EXTENSION (the specification draws the randomized election timeout at
\* each reset): a script may set it, within the range etcd draws from. A
\* leader's is not modelled.
ReplayTimeout(e) ==
    LET i == e.node
    IN  /\ e.timeout \in TimeoutRange
        /\ IF state[i] = StateLeader
           THEN UNCHANGED randomizedTimeout
           ELSE randomizedTimeout' = [randomizedTimeout EXCEPT ![i] = e.timeout]
        /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars,
                       electionElapsed, heartbeatElapsed, messages>>
        /\ l' = l + 1

\* EXTENSION (MsgForgetLeader is not in the specification): a follower
\* forgets its leader, keeping term and vote; others ignore it.
ReplayForgetLeader(i) ==
    IF state[i] = StateFollower
    THEN /\ leader' = [leader EXCEPT ![i] = None]
         /\ UNCHANGED <<currentTerm, votedFor, state, logVars, candidateVars,
                        leaderVars, timerVars, messages>>
    ELSE Nothing

\* A server's own vote, delivered on advance. The specification counted it
\* when the campaign started (PreCampaign, Campaign) and checks for a quorum
\* when the next vote response arrives. With a single voter no response
\* ever arrives: the quorum is checked here instead, with the same outcome
\* HandleVoteResponse has. A vote for a campaign no longer running is
\* ignored, as in HandleVoteResponse.
ReplaySelfVote(i, m) ==
    LET pre == m.mtype = MsgPreVoteResp
        running == IF pre THEN state[i] = StatePreCandidate /\ m.mterm = currentTerm[i] + 1
                          ELSE state[i] = StateCandidate /\ m.mterm = currentTerm[i]
    IN  IF running /\ IsQuorum(votesGranted[i])
        THEN IF pre
             THEN /\ Campaign(i)
                  /\ messages' = AddAll(VoteRequests(i), messages)
                  /\ UNCHANGED logVars
             ELSE /\ BecomeLeader(i)
                  /\ UNCHANGED messages
        ELSE Nothing

\* MaybeCommit, with the leader's own log counted only up to `upto`.
CommitWithOwnAck(i, upto) ==
    LET Agree(n) == {j \in Server : IF j = i THEN n <= upto ELSE matchIndex[i][j] >= n}
        n == MaxOf({k \in 0..LastIndex(i) : k = 0 \/ IsQuorum(Agree(k))})
    IN  IF n > commitIndex[i] /\ LogTerm(i, n) = currentTerm[i] THEN n ELSE commitIndex[i]

\* A leader's acknowledgement of its own append, delivered on advance once
\* the entries up to m.mindex are durable. The specification counts the
\* leader's whole log at once (MaybeCommit); raft-core counts it when this
\* acknowledgement arrives. Followers only ever hold entries the leader
\* acknowledged already (they are sent in the same Ready), so with peers
\* this commits nothing new; a single voter commits here.
ReplaySelfAck(i, m) ==
    IF state[i] = StateLeader /\ m.mterm = currentTerm[i]
    THEN /\ commitIndex' = [commitIndex EXCEPT ![i] = CommitWithOwnAck(i, m.mindex)]
         /\ UNCHANGED <<serverVars, log, candidateVars, leaderVars, timerVars, messages>>
    ELSE Nothing

\* A message from a peer. Under CheckQuorum's lease raft-core ignores a
\* vote request from a higher term: for the specification the message is
\* lost (DropMessage). The lease holds while a follower knows its leader
\* and heard from it within the (not randomized) election timeout; a
\* leader's own election timer is not modelled. A message from a lower
\* term goes to StaleRule. A leader may drop a forwarded proposal (the
\* uncommitted-size limit): for the specification the message is lost.
ReplayReceive(i, m, lease) ==
    /\ m \in DOMAIN messages
    /\ IF lease
       THEN /\ TraceCheckQuorum
            /\ m.mtype \in {MsgVote, MsgPreVote}
            /\ m.mterm > currentTerm[i]
            /\ leader[i] /= None
            /\ state[i] /= StateLeader => electionElapsed[i] < ElectionTimeout
            /\ DropMessage(m)
       ELSE IF m.mtype = MsgProp
            THEN IF state[i] = StateLeader THEN Receive(m) \/ DropMessage(m) ELSE Receive(m)
       ELSE IF m.mterm < currentTerm[i]
            THEN StaleRule!HandleLowerTermMessage(m)
            ELSE Receive(m)

FromNetwork(i, m) ==
    IF m.mtype = MsgProp THEN m.mdest /= None
    ELSE m.mtype \notin LocalTypes /\ m.msource /= i

ReplayStep(e) ==
    LET i == e.node
        m == e.msg
    IN  /\ CASE m.mtype = MsgHup -> ReplayCampaign(i)
             [] m.mtype = "MsgUnreachable" -> Nothing
             [] m.mtype = MsgProp /\ m.mdest = None -> ReplayProposal(i, m)
             [] m.mtype = "MsgForgetLeader" -> ReplayForgetLeader(i)
             [] m.mtype \in {MsgVoteResp, MsgPreVoteResp} /\ m.msource = i -> ReplaySelfVote(i, m)
             [] m.mtype = MsgAppResp /\ m.msource = i -> ReplaySelfAck(i, m)
             [] OTHER -> ReplayReceive(i, m, e.lease)
        \* The step sent exactly the recorded replies and vote requests.
        /\ messages' = SendAll(e.sends,
                               IF FromNetwork(i, m) THEN WithoutMessage(m, messages) ELSE messages)
        /\ StateMatches(i, e.state)
        /\ l' = l + 1

\* Flow control decides where a leader anchors a MsgApp (Next - 1); the
\* specification abstracts it (no probe/replicate states, no optimistic
\* Next). Before a MsgApp anchored elsewhere than the specification's
\* Next - 1, Next is moved to the anchor, which must lie above what the
\* follower is known to hold and within the leader's log.
MoveNext(i, j, n) ==
    /\ state[i] = StateLeader
    /\ matchIndex[i][j] < n
    /\ n <= LastIndex(i) + 1
    /\ nextIndex' = [nextIndex EXCEPT ![i][j] = n]
    /\ UNCHANGED <<serverVars, logVars, candidateVars, matchIndex, timerVars, messages, l>>

ReplaySend(e) ==
    LET i == e.node
        m == e.msg
        j == m.mdest
    IN  /\ m.mtype = MsgApp
        /\ IF nextIndex[i][j] = m.mindex + 1
           THEN /\ messages' = WithMessage(m, messages)
                /\ AppendEntries(i, j)
                /\ l' = l + 1
           ELSE MoveNext(i, j, m.mindex + 1)

ReplayDrop(e) ==
    /\ e.msg \in DOMAIN messages
    /\ DropMessage(e.msg)
    /\ l' = l + 1

ReplayNext ==
    \/ /\ l <= Len(Log)
       /\ CASE Log[l].kind = "step" -> ReplayStep(Log[l])
            [] Log[l].kind = "tick" -> ReplayTick(Log[l])
            [] Log[l].kind = "send" -> ReplaySend(Log[l])
            [] Log[l].kind = "drop" -> ReplayDrop(Log[l])
            [] Log[l].kind = "timeout" -> ReplayTimeout(Log[l])
    \/ /\ l > Len(Log)
       /\ PrintT(<<"trace accepted", TraceName, l - 1>>)
       /\ UNCHANGED traceVars

ReplaySpec == ReplayInit /\ [][ReplayNext]_traceVars

=============================================================================
