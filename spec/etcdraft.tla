---------------------------- MODULE etcdraft ----------------------------
(***************************************************************************)
(* The Raft protocol exactly as etcd-io/raft (v3.7.0) implements it, and  *)
(* as this project mirrors it: pre-vote, etcd's term rules in Step,       *)
(* etcd's canVote rule, the leader's empty entry, MsgApp with             *)
(* prevLogIndex/prevLogTerm, conflict truncation and reject hints, and    *)
(* heartbeats carrying min(match, commit).                                *)
(*                                                                         *)
(* Out of scope (see README.md): membership changes, snapshots and log   *)
(* compaction, ReadIndex, asynchronous storage writes (a step and its     *)
(* persistence are one atomic action here), CheckQuorum and leader        *)
(* leases, leadership transfer, and flow control (probe/replicate,        *)
(* inflights, message size limits).                                       *)
(*                                                                         *)
(* Naming: actions carry the names of the etcd functions they model, and  *)
(* messages carry the fields of raftpb.Message, so that a trace of the    *)
(* implementation can be replayed against this module.                    *)
(*                                                                         *)
(* This module deliberately defines no invariants: they live in           *)
(* MCetcdraft.tla, next to the bounds that make them checkable.           *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets, TLC

CONSTANTS
    \* The voters. Fixed: membership changes are not modelled.
    Server,
    \* Payloads that clients may propose (the Data of a normal entry).
    Value,
    \* etcd's None (= 0): "no server" in votedFor and leader, and the payload
    \* of the empty entry a new leader appends (Data: nil).
    None,
    \* etcd's Config.PreVote.
    PreVote,
    \* Planted bug, for showing that the model checker can fail: when TRUE a
    \* server may grant a MsgVote although it already voted in this term.
    \* Must be FALSE in every real check.
    BuggyVote

ASSUME
    \* A single voter wins its election through the response it sends to
    \* itself; this spec counts the self-vote directly when campaigning and
    \* checks for a quorum when a peer's response arrives, so on its own it
    \* cannot complete an election with one voter (the model-checking
    \* configs use two or three). Traceetcdraft.tla, which replays traces of
    \* single-voter groups too, checks the quorum when the self-vote is
    \* delivered, as the implementation does.
    /\ Cardinality(Server) >= 1
    /\ None \notin Server
    /\ None \notin Value
    /\ PreVote \in BOOLEAN
    /\ BuggyVote \in BOOLEAN

----------------------------------------------------------------------------
(* Server states (etcd's StateType) and message types (raftpb.MessageType). *)

StateFollower     == "StateFollower"
StatePreCandidate == "StatePreCandidate"
StateCandidate    == "StateCandidate"
StateLeader       == "StateLeader"

\* Only the types that travel between servers appear in messages. MsgHup,
\* MsgBeat and MsgProp are local steps in etcd (term 0) and are the actions
\* Timeout, Heartbeat and ClientRequest here.
MsgHup           == "MsgHup"
MsgProp          == "MsgProp"
MsgApp           == "MsgApp"
MsgAppResp       == "MsgAppResp"
MsgVote          == "MsgVote"
MsgVoteResp      == "MsgVoteResp"
MsgPreVote       == "MsgPreVote"
MsgPreVoteResp   == "MsgPreVoteResp"
MsgHeartbeat     == "MsgHeartbeat"
MsgHeartbeatResp == "MsgHeartbeatResp"

----------------------------------------------------------------------------
(* State. Per-server variables are functions over Server.                   *)

\* HardState: persisted term, vote and commit index, plus the log.
VARIABLES
    currentTerm,    \* r.Term
    votedFor,       \* r.Vote: None or the server voted for in currentTerm
    log,            \* r.raftLog: sequence of [term, value]; index 1 first
    commitIndex     \* r.raftLog.committed

\* Volatile state.
VARIABLES
    state,          \* r.state
    leader,         \* r.lead: the leader known in currentTerm, or None
    votesGranted,   \* r.trk.Votes: servers that granted the current (pre-)campaign
    votesRejected,  \* r.trk.Votes: servers that rejected it
    matchIndex,     \* r.trk.Progress[j].Match, meaningful only at a leader
    nextIndex       \* r.trk.Progress[j].Next, meaningful only at a leader

\* The network: a bag (multiset) of messages, as a function from message to
\* number of copies, so that duplication can be modelled.
VARIABLE messages

serverVars   == <<currentTerm, votedFor, state, leader>>
logVars      == <<log, commitIndex>>
candidateVars == <<votesGranted, votesRejected>>
leaderVars   == <<matchIndex, nextIndex>>
vars == <<currentTerm, votedFor, log, commitIndex, state, leader,
          votesGranted, votesRejected, matchIndex, nextIndex, messages>>

----------------------------------------------------------------------------
(* Helpers.                                                                  *)

Min(a, b) == IF a < b THEN a ELSE b
Max(a, b) == IF a > b THEN a ELSE b
MaxOf(S) == CHOOSE x \in S : \A y \in S : y <= x

\* Majority of the fixed voter set (quorum.MajorityConfig).
IsQuorum(S) == 2 * Cardinality(S) > Cardinality(Server)

LastIndex(i) == Len(log[i])
\* Term of the entry at index n; index 0 is the empty log's sentinel, term 0.
LogTerm(i, n) == IF n = 0 THEN 0 ELSE log[i][n].term
LastTerm(i) == LogTerm(i, LastIndex(i))

\* raftLog.matchTerm: the log holds an entry (index, term). Out of range
\* indexes never match (etcd's term() returns ErrUnavailable).
MatchTerm(i, index, term) == index <= LastIndex(i) /\ LogTerm(i, index) = term

\* raftLog.isUpToDate: a candidate's last entry (term, index) is at least as
\* up to date as ours (Raft's election restriction).
IsUpToDate(i, term, index) ==
    \/ term > LastTerm(i)
    \/ term = LastTerm(i) /\ index >= LastIndex(i)

\* raftLog.findConflictByTerm: the largest index <= index whose term is
\* <= term, with that term. Used on both sides of a rejected MsgApp to skip
\* a divergent tail in one round trip per term instead of one per entry. An
\* index beyond the log is returned as is with term 0 ("unknown"), as etcd
\* does when term() fails.
FindConflictByTerm(i, index, term) ==
    IF index > LastIndex(i) THEN <<index, 0>>
    ELSE LET k == MaxOf({n \in 0..index : n = 0 \/ log[i][n].term <= term})
         IN  <<k, LogTerm(i, k)>>

\* raftLog.findConflict: the index of the first entry of ents (which start
\* at prevIndex + 1) that is missing from or differs in log i; 0 if all of
\* them are already there.
FindConflict(i, prevIndex, ents) ==
    LET bad == {k \in 1..Len(ents) : ~MatchTerm(i, prevIndex + k, ents[k].term)}
    IN  IF bad = {} THEN 0 ELSE prevIndex + (CHOOSE k \in bad : \A l \in bad : k <= l)

\* The log after raftLog.maybeAppend has accepted ents after prevIndex:
\* entries already present are kept (so a stale, shorter MsgApp never
\* shortens the log), and from the first conflict on the log is replaced.
AppendAfter(i, prevIndex, ents) ==
    LET ci == FindConflict(i, prevIndex, ents)
    IN  IF ci = 0 THEN log[i]
        ELSE SubSeq(log[i], 1, ci - 1) \o SubSeq(ents, ci - prevIndex, Len(ents))

----------------------------------------------------------------------------
(* The network.                                                              *)

\* A message with raftpb.Message's fields and their zero values; the senders
\* below override the fields they set, as etcd's code fills a pb.Message.
Msg(type, term, from, to) ==
    [mtype |-> type, mterm |-> term, msource |-> from, mdest |-> to,
     mlogTerm |-> 0, mindex |-> 0, mentries |-> <<>>, mcommit |-> 0,
     mreject |-> FALSE, mrejectHint |-> 0]

WithMessage(m, msgs) ==
    IF m \in DOMAIN msgs THEN [msgs EXCEPT ![m] = @ + 1] ELSE msgs @@ (m :> 1)

\* Removing the last copy removes m from the domain, so that equal bags are
\* equal functions.
WithoutMessage(m, msgs) ==
    IF msgs[m] = 1 THEN [k \in DOMAIN msgs \ {m} |-> msgs[k]]
    ELSE [msgs EXCEPT ![m] = @ - 1]

Send(m) == messages' = WithMessage(m, messages)
Discard(m) == messages' = WithoutMessage(m, messages)
\* Consume request m and send its response in one step.
Reply(response, m) == messages' = WithMessage(response, WithoutMessage(m, messages))

RECURSIVE AddAll(_, _)
AddAll(ms, msgs) ==
    IF ms = {} THEN msgs
    ELSE LET m == CHOOSE x \in ms : TRUE IN AddAll(ms \ {m}, WithMessage(m, msgs))

----------------------------------------------------------------------------
(* Role changes. Each sets every variable etcd's become* and reset() touch, *)
(* so callers only add what the step does beyond the role change.           *)

\* Progress is only read by a leader; keeping it at fixed values elsewhere
\* (instead of etcd's lastIndex+1, which no non-leader reads) avoids states
\* that differ only in dead data.
ResetProgress(i) ==
    /\ matchIndex' = [matchIndex EXCEPT ![i] = [j \in Server |-> 0]]
    /\ nextIndex'  = [nextIndex  EXCEPT ![i] = [j \in Server |-> 1]]

\* becomeFollower(term, lead) without the vote: reset(term) clears the vote
\* only if the term changes, and some callers cast a vote in the same step.
StepDownExceptVote(i, term, lead) ==
    /\ currentTerm'   = [currentTerm EXCEPT ![i] = term]
    /\ state'         = [state EXCEPT ![i] = StateFollower]
    /\ leader'        = [leader EXCEPT ![i] = lead]
    /\ votesGranted'  = [votesGranted EXCEPT ![i] = {}]
    /\ votesRejected' = [votesRejected EXCEPT ![i] = {}]
    /\ ResetProgress(i)

\* becomeFollower(term, lead).
BecomeFollower(i, term, lead) ==
    /\ StepDownExceptVote(i, term, lead)
    /\ votedFor' = [votedFor EXCEPT ![i] = IF term = currentTerm[i] THEN @ ELSE None]

\* campaign(campaignPreElection): becomePreCandidate keeps term and vote;
\* MsgPreVote asks for the next term, so a partitioned server that keeps
\* timing out does not inflate its term and disrupt the cluster on return.
\* The self-vote (a response etcd sends to itself) is counted directly.
PreCampaign(i) ==
    /\ state'         = [state EXCEPT ![i] = StatePreCandidate]
    /\ leader'        = [leader EXCEPT ![i] = None]
    /\ votesGranted'  = [votesGranted EXCEPT ![i] = {i}]
    /\ votesRejected' = [votesRejected EXCEPT ![i] = {}]
    /\ UNCHANGED <<currentTerm, votedFor, leaderVars>>

PreVoteRequests(i) ==
    {[Msg(MsgPreVote, currentTerm[i] + 1, i, j) EXCEPT
         !.mindex = LastIndex(i), !.mlogTerm = LastTerm(i)] : j \in Server \ {i}}

\* campaign(campaignElection): becomeCandidate moves to the next term and
\* votes for itself.
Campaign(i) ==
    /\ currentTerm'   = [currentTerm EXCEPT ![i] = @ + 1]
    /\ votedFor'      = [votedFor EXCEPT ![i] = i]
    /\ state'         = [state EXCEPT ![i] = StateCandidate]
    /\ leader'        = [leader EXCEPT ![i] = None]
    /\ votesGranted'  = [votesGranted EXCEPT ![i] = {i}]
    /\ votesRejected' = [votesRejected EXCEPT ![i] = {}]
    /\ ResetProgress(i)

VoteRequests(i) ==
    {[Msg(MsgVote, currentTerm[i] + 1, i, j) EXCEPT
         !.mindex = LastIndex(i), !.mlogTerm = LastTerm(i)] : j \in Server \ {i}}

\* becomeLeader: reset() initialises every follower's progress to
\* Match = 0, Next = lastIndex + 1 (lastIndex before the empty entry), then
\* the empty entry of the new term is appended. Committing that entry is how
\* the leader commits everything earlier (only current-term entries are
\* committed by counting replicas). bcastAppend is the AppendEntries action.
BecomeLeader(i) ==
    /\ state'         = [state EXCEPT ![i] = StateLeader]
    /\ leader'        = [leader EXCEPT ![i] = i]
    /\ votesGranted'  = [votesGranted EXCEPT ![i] = {}]
    /\ votesRejected' = [votesRejected EXCEPT ![i] = {}]
    /\ matchIndex'    = [matchIndex EXCEPT ![i] = [j \in Server |-> 0]]
    /\ nextIndex'     = [nextIndex EXCEPT ![i] = [j \in Server |-> LastIndex(i) + 1]]
    /\ log'           = [log EXCEPT ![i] = Append(@, [term |-> currentTerm[i], value |-> None])]
    /\ UNCHANGED <<currentTerm, votedFor, commitIndex>>

----------------------------------------------------------------------------
(* Local steps.                                                              *)

\* tickElection reaching the randomized election timeout steps MsgHup, and
\* hup starts a (pre-)campaign unless the server leads. The election timer
\* itself is not modelled: timeouts may fire at any moment. Its resets (on
\* MsgApp/MsgHeartbeat from the leader, on granting a vote, on role changes)
\* only postpone a timeout, and any postponed timeout can still happen
\* later, so they do not change the reachable states; they are noted at the
\* steps where etcd performs them.
Timeout(i) ==
    /\ state[i] /= StateLeader
    /\ IF PreVote
       THEN /\ PreCampaign(i)
            /\ messages' = AddAll(PreVoteRequests(i), messages)
       ELSE /\ Campaign(i)
            /\ messages' = AddAll(VoteRequests(i), messages)
    /\ UNCHANGED logVars

\* A client's MsgProp stepped at the leader (stepLeader, appendEntry).
\* Forwarding by followers and dropping by candidates are not modelled: a
\* forwarded proposal is this step at the leader, a dropped one no step.
ClientRequest(i, v) ==
    /\ state[i] = StateLeader
    /\ log' = [log EXCEPT ![i] = Append(@, [term |-> currentTerm[i], value |-> v])]
    /\ UNCHANGED <<serverVars, commitIndex, candidateVars, leaderVars, messages>>

\* sendAppend: a MsgApp anchored at Next - 1 with the leader's commit index
\* and entries from Next on. etcd sends as many as fit in MaxSizePerMsg
\* (at least one if there are any) and sends none when a replicating
\* follower's inflight window is full; any prefix, possibly empty, covers
\* all of these. Next is not advanced here: that is the optimistic
\* pipelining of StateReplicate, which is abstracted away; the leader may
\* simply send again.
AppendEntries(i, j) ==
    LET prev == nextIndex[i][j] - 1
    IN  /\ i /= j
        /\ state[i] = StateLeader
        /\ \E last \in prev..LastIndex(i) :
               Send([Msg(MsgApp, currentTerm[i], i, j) EXCEPT
                       !.mindex   = prev,
                       !.mlogTerm = LogTerm(i, prev),
                       !.mentries = SubSeq(log[i], prev + 1, last),
                       !.mcommit  = commitIndex[i]])
        /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars>>

\* sendHeartbeat (bcastHeartbeat on MsgBeat), to one follower. The commit is
\* min(Match, committed): a follower must not be told to commit beyond what
\* it is known to share with the leader.
Heartbeat(i, j) ==
    /\ i /= j
    /\ state[i] = StateLeader
    /\ Send([Msg(MsgHeartbeat, currentTerm[i], i, j) EXCEPT
                !.mcommit = Min(matchIndex[i][j], commitIndex[i])])
    /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars>>

----------------------------------------------------------------------------
(* Receiving. Receive(m) is raft.Step for a message from the network; the *)
(* handlers below cover every (state, term) combination, so a message can *)
(* always be received (which the fairness conditions rely on).             *)

\* Step, case m.Term < r.Term. Stale messages are ignored, except that a
\* MsgPreVote is rejected with our term (so a candidate with a stale term
\* learns it and can rejoin), and, with pre-vote on, a MsgApp or MsgHeartbeat
\* is answered with an empty MsgAppResp at our term so that its sender
\* steps down. Otherwise a server whose term ran ahead (say, campaigning
\* while partitioned) would ignore the leader forever: its pre-votes do
\* not raise anyone's term, so nothing else tells the cluster its term.
HandleLowerTermMessage(m) ==
    LET i == m.mdest
        j == m.msource
    IN  /\ m.mterm < currentTerm[i]
        /\ CASE m.mtype \in {MsgApp, MsgHeartbeat} /\ PreVote ->
                    Reply(Msg(MsgAppResp, currentTerm[i], i, j), m)
             [] m.mtype = MsgPreVote ->
                    Reply([Msg(MsgPreVoteResp, currentTerm[i], i, j) EXCEPT !.mreject = TRUE], m)
             [] OTHER -> Discard(m)
        /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars>>

\* Step, case pb.MsgVote, pb.MsgPreVote (term >= ours).
\* A MsgVote for a higher term first makes us follower of that term with no
\* vote and no leader; a MsgPreVote never changes our term. Then etcd's
\* canVote: repeat a vote for the same candidate, or vote if we have not
\* voted and know no leader in this term, or grant a pre-vote for a future
\* term; and the candidate's log must be at least as up to date as ours.
\* A granted response carries the request's term (for a pre-vote, the
\* future term, so the pre-candidate does not discard it as stale); a
\* rejection carries our term. Only real votes are recorded (and reset the
\* election timer).
HandleVoteRequest(m) ==
    LET i == m.mdest
        j == m.msource
        pre == m.mtype = MsgPreVote
        stepDown == ~pre /\ m.mterm > currentTerm[i]
        term == IF stepDown THEN m.mterm ELSE currentTerm[i]
        vote == IF stepDown THEN None ELSE votedFor[i]
        lead == IF stepDown THEN None ELSE leader[i]
        canVote == \/ vote = j
                   \/ vote = None /\ lead = None
                   \/ pre /\ m.mterm > term
                   \/ BuggyVote /\ ~pre
        grant == canVote /\ IsUpToDate(i, m.mlogTerm, m.mindex)
        respType == IF pre THEN MsgPreVoteResp ELSE MsgVoteResp
    IN  /\ m.mtype \in {MsgVote, MsgPreVote}
        /\ m.mterm >= currentTerm[i]
        /\ IF stepDown
           THEN StepDownExceptVote(i, term, None)
           ELSE UNCHANGED <<currentTerm, state, leader, candidateVars, leaderVars>>
        /\ votedFor' = [votedFor EXCEPT ![i] = IF grant /\ ~pre THEN j ELSE vote]
        /\ Reply(IF grant THEN Msg(respType, m.mterm, i, j)
                 ELSE [Msg(respType, term, i, j) EXCEPT !.mreject = TRUE], m)
        /\ UNCHANGED logVars

\* Step and stepCandidate for MsgVoteResp/MsgPreVoteResp (term >= ours).
\* A higher-term response makes us follower of that term, except a granted
\* pre-vote: it carries the future term we asked for. A (pre-)candidate
\* polls responses to its own kind of campaign (a candidate ignores late
\* pre-vote responses); the first answer of each voter counts
\* (RecordVote). Winning the pre-vote starts the real campaign, winning the
\* vote makes us leader, and once a quorum can no longer be reached we
\* return to follower in our term (VoteLost).
HandleVoteResponse(m) ==
    LET i == m.mdest
        j == m.msource
        higher == m.mterm > currentTerm[i]
        mine == \/ state[i] = StatePreCandidate /\ m.mtype = MsgPreVoteResp
                \/ state[i] = StateCandidate /\ m.mtype = MsgVoteResp
        known == j \in votesGranted[i] \cup votesRejected[i]
        granted == IF ~known /\ ~m.mreject THEN votesGranted[i] \cup {j} ELSE votesGranted[i]
        rejected == IF ~known /\ m.mreject THEN votesRejected[i] \cup {j} ELSE votesRejected[i]
    IN  /\ m.mtype \in {MsgVoteResp, MsgPreVoteResp}
        /\ m.mterm >= currentTerm[i]
        /\ \/ \* Step: a higher term, other than a granted pre-vote.
              /\ higher /\ (m.mtype = MsgVoteResp \/ m.mreject)
              /\ BecomeFollower(i, m.mterm, None)
              /\ Discard(m)
              /\ UNCHANGED logVars
           \/ /\ ~(higher /\ (m.mtype = MsgVoteResp \/ m.mreject))
              /\ mine
              /\ CASE IsQuorum(granted) /\ state[i] = StatePreCandidate ->
                        /\ Campaign(i)
                        /\ messages' = AddAll(VoteRequests(i), WithoutMessage(m, messages))
                        /\ UNCHANGED logVars
                   [] IsQuorum(granted) /\ state[i] = StateCandidate ->
                        /\ BecomeLeader(i)
                        /\ Discard(m)
                   [] ~IsQuorum(Server \ rejected) ->
                        /\ BecomeFollower(i, currentTerm[i], None)
                        /\ Discard(m)
                        /\ UNCHANGED logVars
                   [] OTHER ->
                        /\ votesGranted'  = [votesGranted EXCEPT ![i] = granted]
                        /\ votesRejected' = [votesRejected EXCEPT ![i] = rejected]
                        /\ Discard(m)
                        /\ UNCHANGED <<serverVars, logVars, leaderVars>>
           \/ \* Not a response to a campaign we are running: ignored.
              /\ ~(higher /\ (m.mtype = MsgVoteResp \/ m.mreject))
              /\ ~mine
              /\ Discard(m)
              /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars>>

\* Step (term >= ours), stepFollower/stepCandidate and handleAppendEntries.
\* Receiving a MsgApp at its term makes us a follower of the sender
\* (becomeFollower(m.Term, m.From), or just r.lead = m.From and a reset
\* election timer for a follower) whatever our state, except for a leader
\* of the same term, which ignores it (election safety makes that case
\* unreachable). Then:
\*  - an anchor below our commit index is answered with our commit index:
\*    those entries are committed, hence already match the leader's;
\*  - if we hold the anchor (prevLogIndex, prevLogTerm), the entries are
\*    merged (FindConflict) and the commit index follows the leader's, but
\*    never beyond the last entry this message vouches for;
\*  - otherwise we reject, with a hint: the largest (index, term) in our log
\*    with term <= prevLogTerm and index <= min(prevLogIndex, lastIndex).
HandleAppendEntriesRequest(m) ==
    LET i == m.mdest
        j == m.msource
        prev == m.mindex
        ents == m.mentries
        lastNew == prev + Len(ents)
        hint == FindConflictByTerm(i, Min(prev, LastIndex(i)), m.mlogTerm)
    IN  /\ m.mtype = MsgApp
        /\ m.mterm >= currentTerm[i]
        /\ IF state[i] = StateLeader /\ m.mterm = currentTerm[i]
           THEN /\ Discard(m)
                /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars>>
           ELSE /\ BecomeFollower(i, m.mterm, j)
                /\ CASE prev < commitIndex[i] ->
                        /\ Reply([Msg(MsgAppResp, m.mterm, i, j) EXCEPT
                                     !.mindex = commitIndex[i]], m)
                        /\ UNCHANGED logVars
                     [] prev >= commitIndex[i] /\ MatchTerm(i, prev, m.mlogTerm) ->
                        /\ log' = [log EXCEPT ![i] = AppendAfter(i, prev, ents)]
                        /\ commitIndex' = [commitIndex EXCEPT ![i] =
                                              Max(@, Min(m.mcommit, lastNew))]
                        /\ Reply([Msg(MsgAppResp, m.mterm, i, j) EXCEPT
                                     !.mindex = lastNew], m)
                     [] prev >= commitIndex[i] /\ ~MatchTerm(i, prev, m.mlogTerm) ->
                        /\ Reply([Msg(MsgAppResp, m.mterm, i, j) EXCEPT
                                     !.mindex = prev,
                                     !.mreject = TRUE,
                                     !.mrejectHint = hint[1],
                                     !.mlogTerm = hint[2]], m)
                        /\ UNCHANGED logVars

\* maybeCommit at leader i, given its followers' Match values: the largest
\* index replicated on a quorum (the leader's own log counts, as etcd's
\* leader acknowledges its appends to itself once persisted) becomes the
\* commit index, but only if that entry is from the current term; older
\* entries are committed indirectly (Raft paper, section 5.4.2).
MaybeCommit(i, match) ==
    LET Agree(n) == {i} \cup {j \in Server : match[j] >= n}
        n == MaxOf({k \in 0..LastIndex(i) : k = 0 \/ IsQuorum(Agree(k))})
    IN  IF n > commitIndex[i] /\ LogTerm(i, n) = currentTerm[i]
        THEN n ELSE commitIndex[i]

\* Step (term >= ours) and stepLeader for MsgAppResp. A higher term makes
\* us follower (e.g. the empty response of a server we no longer reach at
\* our term). Only a leader uses responses of its own term:
\*  - accepted: Progress.MaybeUpdate raises Match (never lowers it: the
\*    response may be stale) and Next with it, then maybeCommit;
\*  - rejected: Progress.MaybeDecrTo as in StateProbe: a rejection of
\*    anything but the last probe (Next - 1) is stale; otherwise Next moves
\*    back to the hint, sharpened by the leader's own findConflictByTerm
\*    when the follower reported the term at the hint, but never to or below
\*    Match.
HandleAppendEntriesResponse(m) ==
    LET i == m.mdest
        j == m.msource
        probe == IF m.mlogTerm > 0
                 THEN FindConflictByTerm(i, m.mrejectHint, m.mlogTerm)[1]
                 ELSE m.mrejectHint
        ours == m.mterm = currentTerm[i] /\ state[i] = StateLeader
        newMatch == [matchIndex[i] EXCEPT ![j] = m.mindex]
    IN  /\ m.mtype = MsgAppResp
        /\ m.mterm >= currentTerm[i]
        /\ Discard(m)
        /\ UNCHANGED log
        /\ CASE m.mterm > currentTerm[i] ->
                    /\ BecomeFollower(i, m.mterm, None)
                    /\ UNCHANGED commitIndex
             [] ours /\ ~m.mreject /\ m.mindex > matchIndex[i][j] ->
                    /\ matchIndex'  = [matchIndex EXCEPT ![i] = newMatch]
                    /\ nextIndex'   = [nextIndex EXCEPT ![i][j] = Max(@, m.mindex + 1)]
                    /\ commitIndex' = [commitIndex EXCEPT ![i] = MaybeCommit(i, newMatch)]
                    /\ UNCHANGED <<serverVars, candidateVars>>
             [] ours /\ m.mreject /\ nextIndex[i][j] - 1 = m.mindex ->
                    /\ nextIndex' = [nextIndex EXCEPT ![i][j] =
                                        Max(Min(m.mindex, probe + 1), matchIndex[i][j] + 1)]
                    /\ UNCHANGED <<serverVars, candidateVars, matchIndex, commitIndex>>
             [] OTHER ->
                    UNCHANGED <<serverVars, candidateVars, leaderVars, commitIndex>>

\* Step (term >= ours), stepFollower/stepCandidate and handleHeartbeat: like
\* MsgApp, it makes us a follower of the sender (and resets the election
\* timer); the commit index moves up to the (already matched) commit it
\* carries.
HandleHeartbeat(m) ==
    LET i == m.mdest
        j == m.msource
    IN  /\ m.mtype = MsgHeartbeat
        /\ m.mterm >= currentTerm[i]
        /\ IF state[i] = StateLeader /\ m.mterm = currentTerm[i]
           THEN /\ Discard(m)
                /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars>>
           ELSE /\ BecomeFollower(i, m.mterm, j)
                /\ commitIndex' = [commitIndex EXCEPT ![i] = Max(@, m.mcommit)]
                /\ Reply(Msg(MsgHeartbeatResp, m.mterm, i, j), m)
                /\ UNCHANGED log

\* Step (term >= ours) and stepLeader for MsgHeartbeatResp. etcd answers
\* with a MsgApp if the follower lags; here the leader may send one at any
\* time (AppendEntries), so receiving it changes nothing else.
HandleHeartbeatResponse(m) ==
    LET i == m.mdest
    IN  /\ m.mtype = MsgHeartbeatResp
        /\ m.mterm >= currentTerm[i]
        /\ Discard(m)
        /\ UNCHANGED logVars
        /\ IF m.mterm > currentTerm[i]
           THEN BecomeFollower(i, m.mterm, None)
           ELSE UNCHANGED <<serverVars, candidateVars, leaderVars>>

Receive(m) ==
    \/ HandleLowerTermMessage(m)
    \/ HandleVoteRequest(m)
    \/ HandleVoteResponse(m)
    \/ HandleAppendEntriesRequest(m)
    \/ HandleAppendEntriesResponse(m)
    \/ HandleHeartbeat(m)
    \/ HandleHeartbeatResponse(m)

----------------------------------------------------------------------------
(* The network misbehaving. Delay and reordering need no action: any      *)
(* message in the bag may be received next, or much later.                *)

DuplicateMessage(m) ==
    /\ Send(m)
    /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars>>

DropMessage(m) ==
    /\ Discard(m)
    /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars>>

----------------------------------------------------------------------------
(* The specification.                                                       *)

Init ==
    /\ currentTerm   = [i \in Server |-> 0]
    /\ votedFor      = [i \in Server |-> None]
    /\ log           = [i \in Server |-> <<>>]
    /\ commitIndex   = [i \in Server |-> 0]
    /\ state         = [i \in Server |-> StateFollower]
    /\ leader        = [i \in Server |-> None]
    /\ votesGranted  = [i \in Server |-> {}]
    /\ votesRejected = [i \in Server |-> {}]
    /\ matchIndex    = [i \in Server |-> [j \in Server |-> 0]]
    /\ nextIndex     = [i \in Server |-> [j \in Server |-> 1]]
    /\ messages      = [m \in {} |-> 0]

\* Receiving any message on the link from j to i; the unit of fairness.
ReceiveOn(j, i) ==
    \E m \in DOMAIN messages : m.msource = j /\ m.mdest = i /\ Receive(m)

Next ==
    \/ \E i \in Server : Timeout(i)
    \/ \E i \in Server, v \in Value : ClientRequest(i, v)
    \/ \E i, j \in Server : AppendEntries(i, j)
    \/ \E i, j \in Server : Heartbeat(i, j)
    \/ \E m \in DOMAIN messages : Receive(m)
    \/ \E m \in DOMAIN messages : DuplicateMessage(m)
    \/ \E m \in DOMAIN messages : DropMessage(m)

\* What electing a leader needs: every non-leader's timer keeps firing, and
\* every link keeps delivering what is in flight (a message may still be
\* dropped, but a link cannot stall forever while holding messages). A
\* campaign's completion (Campaign after a won pre-vote, BecomeLeader after
\* a won vote) happens inside the receiving step, as in etcd, so it needs
\* no fairness of its own. Nothing keeps a timeout from interrupting a
\* running election: as in any Raft, that a leader is eventually elected
\* also rests on randomized timeouts letting one campaign finish, which is
\* a timing assumption and not part of this spec (README.md, Liveness).
Fairness ==
    /\ \A i \in Server : WF_vars(Timeout(i))
    /\ \A i, j \in Server : WF_vars(ReceiveOn(j, i))

Spec == Init /\ [][Next]_vars /\ Fairness

=============================================================================
