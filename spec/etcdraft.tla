---- MODULE etcdraft ----
EXTENDS Naturals, Sequences, FiniteSets, TLC

CONSTANTS
    Server,
    Value,
    None,
    PreVote,
    ElectionTimeout,
    HeartbeatTimeout,
    DisableProposalForwarding,
    BuggyVote,
    BuggyHeartbeatReset

ASSUME
    /\ Cardinality(Server) >= 1
    /\ None \notin Server
    /\ None \notin Value
    /\ PreVote \in BOOLEAN
    /\ ElectionTimeout \in Nat \ {0}
    /\ HeartbeatTimeout \in Nat \ {0}
    /\ DisableProposalForwarding \in BOOLEAN
    /\ BuggyVote \in BOOLEAN
    /\ BuggyHeartbeatReset \in BOOLEAN

StateFollower     == "StateFollower"
StatePreCandidate == "StatePreCandidate"
StateCandidate    == "StateCandidate"
StateLeader       == "StateLeader"

MsgProp          == "MsgProp"
MsgApp           == "MsgApp"
MsgAppResp       == "MsgAppResp"
MsgVote          == "MsgVote"
MsgVoteResp      == "MsgVoteResp"
MsgPreVote       == "MsgPreVote"
MsgPreVoteResp   == "MsgPreVoteResp"
MsgHeartbeat     == "MsgHeartbeat"
MsgHeartbeatResp == "MsgHeartbeatResp"

VARIABLES
    currentTerm,
    votedFor,
    log,
    commitIndex,
    state,
    leader,
    votesGranted,
    votesRejected,
    matchIndex,
    nextIndex,
    electionElapsed,
    randomizedTimeout,
    heartbeatElapsed,
    messages

serverVars    == <<currentTerm, votedFor, state, leader>>
logVars       == <<log, commitIndex>>
candidateVars == <<votesGranted, votesRejected>>
leaderVars    == <<matchIndex, nextIndex>>
timerVars     == <<electionElapsed, randomizedTimeout, heartbeatElapsed>>
vars == <<currentTerm, votedFor, log, commitIndex, state, leader,
          votesGranted, votesRejected, matchIndex, nextIndex,
          electionElapsed, randomizedTimeout, heartbeatElapsed, messages>>

TimeoutRange == ElectionTimeout..(2 * ElectionTimeout - 1)

Min(a, b) == IF a < b THEN a ELSE b
Max(a, b) == IF a > b THEN a ELSE b
MaxOf(S) == CHOOSE x \in S : \A y \in S : y <= x

IsQuorum(S) == 2 * Cardinality(S) > Cardinality(Server)

LastIndex(i) == Len(log[i])
LogTerm(i, n) == IF n = 0 THEN 0 ELSE log[i][n].term
LastTerm(i) == LogTerm(i, LastIndex(i))

MatchTerm(i, index, term) == index <= LastIndex(i) /\ LogTerm(i, index) = term

IsUpToDate(i, term, index) ==
    \/ term > LastTerm(i)
    \/ term = LastTerm(i) /\ index >= LastIndex(i)

FindConflictByTerm(i, index, term) ==
    IF index > LastIndex(i) THEN <<index, 0>>
    ELSE LET k == MaxOf({n \in 0..index : n = 0 \/ log[i][n].term <= term})
         IN  <<k, LogTerm(i, k)>>

FindConflict(i, prevIndex, ents) ==
    LET bad == {k \in 1..Len(ents) : ~MatchTerm(i, prevIndex + k, ents[k].term)}
    IN  IF bad = {} THEN 0 ELSE prevIndex + (CHOOSE k \in bad : \A l \in bad : k <= l)

AppendAfter(i, prevIndex, ents) ==
    LET ci == FindConflict(i, prevIndex, ents)
    IN  IF ci = 0 THEN log[i]
        ELSE SubSeq(log[i], 1, ci - 1) \o SubSeq(ents, ci - prevIndex, Len(ents))

Msg(type, term, from, to) ==
    [mtype |-> type, mterm |-> term, msource |-> from, mdest |-> to,
     mlogTerm |-> 0, mindex |-> 0, mentries |-> <<>>, mcommit |-> 0,
     mreject |-> FALSE, mrejectHint |-> 0]

WithMessage(m, msgs) ==
    IF m \in DOMAIN msgs THEN [msgs EXCEPT ![m] = @ + 1] ELSE msgs @@ (m :> 1)

WithoutMessage(m, msgs) ==
    IF msgs[m] = 1 THEN [k \in DOMAIN msgs \ {m} |-> msgs[k]]
    ELSE [msgs EXCEPT ![m] = @ - 1]

Send(m) == messages' = WithMessage(m, messages)
Discard(m) == messages' = WithoutMessage(m, messages)
Reply(response, m) == messages' = WithMessage(response, WithoutMessage(m, messages))

RECURSIVE AddAll(_, _)
AddAll(ms, msgs) ==
    IF ms = {} THEN msgs
    ELSE LET m == CHOOSE x \in ms : TRUE IN AddAll(ms \ {m}, WithMessage(m, msgs))

ResetTimer(i) ==
    /\ electionElapsed'  = [electionElapsed EXCEPT ![i] = 0]
    /\ heartbeatElapsed' = [heartbeatElapsed EXCEPT ![i] = 0]
    /\ \E t \in TimeoutRange : randomizedTimeout' = [randomizedTimeout EXCEPT ![i] = t]

ResetProgress(i) ==
    /\ matchIndex' = [matchIndex EXCEPT ![i] = [j \in Server |-> 0]]
    /\ nextIndex'  = [nextIndex  EXCEPT ![i] = [j \in Server |-> 1]]

StepDownExceptVote(i, term, lead) ==
    /\ currentTerm'   = [currentTerm EXCEPT ![i] = term]
    /\ state'         = [state EXCEPT ![i] = StateFollower]
    /\ leader'        = [leader EXCEPT ![i] = lead]
    /\ votesGranted'  = [votesGranted EXCEPT ![i] = {}]
    /\ votesRejected' = [votesRejected EXCEPT ![i] = {}]
    /\ ResetProgress(i)
    /\ ResetTimer(i)

BecomeFollower(i, term, lead) ==
    /\ StepDownExceptVote(i, term, lead)
    /\ votedFor' = [votedFor EXCEPT ![i] = IF term = currentTerm[i] THEN @ ELSE None]

PreCampaign(i) ==
    /\ state'         = [state EXCEPT ![i] = StatePreCandidate]
    /\ leader'        = [leader EXCEPT ![i] = None]
    /\ votesGranted'  = [votesGranted EXCEPT ![i] = {i}]
    /\ votesRejected' = [votesRejected EXCEPT ![i] = {}]
    /\ UNCHANGED <<currentTerm, votedFor, leaderVars, randomizedTimeout, heartbeatElapsed>>

PreVoteRequests(i) ==
    {[Msg(MsgPreVote, currentTerm[i] + 1, i, j) EXCEPT
         !.mindex = LastIndex(i), !.mlogTerm = LastTerm(i)] : j \in Server \ {i}}

Campaign(i) ==
    /\ currentTerm'   = [currentTerm EXCEPT ![i] = @ + 1]
    /\ votedFor'      = [votedFor EXCEPT ![i] = i]
    /\ state'         = [state EXCEPT ![i] = StateCandidate]
    /\ leader'        = [leader EXCEPT ![i] = None]
    /\ votesGranted'  = [votesGranted EXCEPT ![i] = {i}]
    /\ votesRejected' = [votesRejected EXCEPT ![i] = {}]
    /\ ResetProgress(i)
    /\ ResetTimer(i)

VoteRequests(i) ==
    {[Msg(MsgVote, currentTerm[i] + 1, i, j) EXCEPT
         !.mindex = LastIndex(i), !.mlogTerm = LastTerm(i)] : j \in Server \ {i}}

BecomeLeader(i) ==
    /\ state'             = [state EXCEPT ![i] = StateLeader]
    /\ leader'            = [leader EXCEPT ![i] = i]
    /\ votesGranted'      = [votesGranted EXCEPT ![i] = {}]
    /\ votesRejected'     = [votesRejected EXCEPT ![i] = {}]
    /\ matchIndex'        = [matchIndex EXCEPT ![i] = [j \in Server |-> 0]]
    /\ nextIndex'         = [nextIndex EXCEPT ![i] = [j \in Server |-> LastIndex(i) + 1]]
    /\ electionElapsed'   = [electionElapsed EXCEPT ![i] = 0]
    /\ heartbeatElapsed'  = [heartbeatElapsed EXCEPT ![i] = 0]
    /\ randomizedTimeout' = [randomizedTimeout EXCEPT ![i] = ElectionTimeout]
    /\ log'               = [log EXCEPT ![i] = Append(@, [term |-> currentTerm[i], value |-> None])]
    /\ UNCHANGED <<currentTerm, votedFor, commitIndex>>

Heartbeats(i) ==
    {[Msg(MsgHeartbeat, currentTerm[i], i, j) EXCEPT
         !.mcommit = Min(matchIndex[i][j], commitIndex[i])] : j \in Server \ {i}}

TickElection(i) ==
    /\ state[i] /= StateLeader
    /\ UNCHANGED logVars
    /\ IF electionElapsed[i] + 1 >= randomizedTimeout[i]
       THEN IF PreVote
            THEN /\ PreCampaign(i)
                 /\ electionElapsed' = [electionElapsed EXCEPT ![i] = 0]
                 /\ messages' = AddAll(PreVoteRequests(i), messages)
            ELSE /\ Campaign(i)
                 /\ messages' = AddAll(VoteRequests(i), messages)
       ELSE /\ electionElapsed' = [electionElapsed EXCEPT ![i] = @ + 1]
            /\ UNCHANGED <<serverVars, candidateVars, leaderVars,
                           randomizedTimeout, heartbeatElapsed, messages>>

TickHeartbeat(i) ==
    /\ state[i] = StateLeader
    /\ IF heartbeatElapsed[i] + 1 >= HeartbeatTimeout
       THEN /\ heartbeatElapsed' = [heartbeatElapsed EXCEPT ![i] = 0]
            /\ messages' = AddAll(Heartbeats(i), messages)
       ELSE /\ heartbeatElapsed' = [heartbeatElapsed EXCEPT ![i] = @ + 1]
            /\ UNCHANGED messages
    /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars,
                   electionElapsed, randomizedTimeout>>

Tick(i) == TickElection(i) \/ TickHeartbeat(i)

AppendProposal(i, v) ==
    log' = [log EXCEPT ![i] = Append(@, [term |-> currentTerm[i], value |-> v])]

Proposal(from, to, v) ==
    [Msg(MsgProp, 0, from, to) EXCEPT !.mentries = <<[term |-> 0, value |-> v]>>]

ClientRequest(i, v) ==
    \/ /\ state[i] = StateLeader
       /\ AppendProposal(i, v)
       /\ UNCHANGED <<serverVars, commitIndex, candidateVars, leaderVars, timerVars, messages>>
    \/ /\ state[i] = StateFollower
       /\ leader[i] /= None
       /\ ~DisableProposalForwarding
       /\ Send(Proposal(i, leader[i], v))
       /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars, timerVars>>

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
        /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars, timerVars>>

HandleProposal(m) ==
    LET i == m.mdest
    IN  /\ m.mtype = MsgProp
        /\ UNCHANGED <<serverVars, commitIndex, candidateVars, leaderVars, timerVars>>
        /\ CASE state[i] = StateLeader /\ Len(m.mentries) = 1 ->
                    /\ AppendProposal(i, m.mentries[1].value)
                    /\ Discard(m)
             [] state[i] = StateFollower /\ leader[i] /= None /\ ~DisableProposalForwarding ->
                    /\ messages' = WithMessage([m EXCEPT !.mdest = leader[i]],
                                               WithoutMessage(m, messages))
                    /\ UNCHANGED log
             [] OTHER ->
                    /\ Discard(m)
                    /\ UNCHANGED log

HandleLowerTermMessage(m) ==
    LET i == m.mdest
        j == m.msource
    IN  /\ m.mtype /= MsgProp
        /\ m.mterm < currentTerm[i]
        /\ CASE m.mtype \in {MsgApp, MsgHeartbeat} /\ PreVote ->
                    Reply(Msg(MsgAppResp, currentTerm[i], i, j), m)
             [] m.mtype = MsgPreVote ->
                    Reply([Msg(MsgPreVoteResp, currentTerm[i], i, j) EXCEPT !.mreject = TRUE], m)
             [] OTHER -> Discard(m)
        /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars, timerVars>>

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
           ELSE /\ electionElapsed' = [electionElapsed EXCEPT ![i] =
                                          IF grant /\ ~pre THEN 0 ELSE @]
                /\ UNCHANGED <<currentTerm, state, leader, candidateVars, leaderVars,
                               randomizedTimeout, heartbeatElapsed>>
        /\ votedFor' = [votedFor EXCEPT ![i] = IF grant /\ ~pre THEN j ELSE vote]
        /\ Reply(IF grant THEN Msg(respType, m.mterm, i, j)
                 ELSE [Msg(respType, term, i, j) EXCEPT !.mreject = TRUE], m)
        /\ UNCHANGED logVars

HandleVoteResponse(m) ==
    LET i == m.mdest
        j == m.msource
        higher == m.mterm > currentTerm[i]
        stepDown == higher /\ (m.mtype = MsgVoteResp \/ m.mreject)
        mine == \/ state[i] = StatePreCandidate /\ m.mtype = MsgPreVoteResp
                \/ state[i] = StateCandidate /\ m.mtype = MsgVoteResp
        known == j \in votesGranted[i] \cup votesRejected[i]
        granted == IF ~known /\ ~m.mreject THEN votesGranted[i] \cup {j} ELSE votesGranted[i]
        rejected == IF ~known /\ m.mreject THEN votesRejected[i] \cup {j} ELSE votesRejected[i]
    IN  /\ m.mtype \in {MsgVoteResp, MsgPreVoteResp}
        /\ m.mterm >= currentTerm[i]
        /\ \/ /\ stepDown
              /\ BecomeFollower(i, m.mterm, None)
              /\ Discard(m)
              /\ UNCHANGED logVars
           \/ /\ ~stepDown
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
                        /\ UNCHANGED <<serverVars, logVars, leaderVars, timerVars>>
           \/ /\ ~stepDown
              /\ ~mine
              /\ Discard(m)
              /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars, timerVars>>

FollowSender(i, m, resetElapsed) ==
    IF state[i] = StateFollower /\ m.mterm = currentTerm[i]
    THEN /\ leader' = [leader EXCEPT ![i] = m.msource]
         /\ electionElapsed' = [electionElapsed EXCEPT ![i] = IF resetElapsed THEN 0 ELSE @]
         /\ UNCHANGED <<currentTerm, votedFor, state, candidateVars, leaderVars,
                        randomizedTimeout, heartbeatElapsed>>
    ELSE BecomeFollower(i, m.mterm, m.msource)

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
                /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars, timerVars>>
           ELSE /\ FollowSender(i, m, TRUE)
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

MaybeCommit(i, match) ==
    LET Agree(n) == {i} \cup {j \in Server : match[j] >= n}
        n == MaxOf({k \in 0..LastIndex(i) : k = 0 \/ IsQuorum(Agree(k))})
    IN  IF n > commitIndex[i] /\ LogTerm(i, n) = currentTerm[i]
        THEN n ELSE commitIndex[i]

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
                    /\ UNCHANGED <<serverVars, candidateVars, timerVars>>
             [] ours /\ m.mreject /\ nextIndex[i][j] - 1 = m.mindex ->
                    /\ nextIndex' = [nextIndex EXCEPT ![i][j] =
                                        Max(Min(m.mindex, probe + 1), matchIndex[i][j] + 1)]
                    /\ UNCHANGED <<serverVars, candidateVars, matchIndex, commitIndex, timerVars>>
             [] OTHER ->
                    UNCHANGED <<serverVars, candidateVars, leaderVars, commitIndex, timerVars>>

HandleHeartbeat(m) ==
    LET i == m.mdest
        j == m.msource
    IN  /\ m.mtype = MsgHeartbeat
        /\ m.mterm >= currentTerm[i]
        /\ IF state[i] = StateLeader /\ m.mterm = currentTerm[i]
           THEN /\ Discard(m)
                /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars, timerVars>>
           ELSE /\ FollowSender(i, m, ~BuggyHeartbeatReset)
                /\ commitIndex' = [commitIndex EXCEPT ![i] = Max(@, m.mcommit)]
                /\ Reply(Msg(MsgHeartbeatResp, m.mterm, i, j), m)
                /\ UNCHANGED log

HandleHeartbeatResponse(m) ==
    LET i == m.mdest
    IN  /\ m.mtype = MsgHeartbeatResp
        /\ m.mterm >= currentTerm[i]
        /\ Discard(m)
        /\ UNCHANGED logVars
        /\ IF m.mterm > currentTerm[i]
           THEN BecomeFollower(i, m.mterm, None)
           ELSE UNCHANGED <<serverVars, candidateVars, leaderVars, timerVars>>

Receive(m) ==
    \/ HandleProposal(m)
    \/ HandleLowerTermMessage(m)
    \/ HandleVoteRequest(m)
    \/ HandleVoteResponse(m)
    \/ HandleAppendEntriesRequest(m)
    \/ HandleAppendEntriesResponse(m)
    \/ HandleHeartbeat(m)
    \/ HandleHeartbeatResponse(m)

DuplicateMessage(m) ==
    /\ Send(m)
    /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars, timerVars>>

DropMessage(m) ==
    /\ Discard(m)
    /\ UNCHANGED <<serverVars, logVars, candidateVars, leaderVars, timerVars>>

Init ==
    /\ currentTerm       = [i \in Server |-> 0]
    /\ votedFor          = [i \in Server |-> None]
    /\ log               = [i \in Server |-> <<>>]
    /\ commitIndex       = [i \in Server |-> 0]
    /\ state             = [i \in Server |-> StateFollower]
    /\ leader            = [i \in Server |-> None]
    /\ votesGranted      = [i \in Server |-> {}]
    /\ votesRejected     = [i \in Server |-> {}]
    /\ matchIndex        = [i \in Server |-> [j \in Server |-> 0]]
    /\ nextIndex         = [i \in Server |-> [j \in Server |-> 1]]
    /\ electionElapsed   = [i \in Server |-> 0]
    /\ randomizedTimeout \in [Server -> TimeoutRange]
    /\ heartbeatElapsed  = [i \in Server |-> 0]
    /\ messages          = [m \in {} |-> 0]

ReceiveOn(j, i) ==
    \E m \in DOMAIN messages : m.msource = j /\ m.mdest = i /\ Receive(m)

Next ==
    \/ \E i \in Server : Tick(i)
    \/ \E i \in Server, v \in Value : ClientRequest(i, v)
    \/ \E i, j \in Server : AppendEntries(i, j)
    \/ \E m \in DOMAIN messages : Receive(m)
    \/ \E m \in DOMAIN messages : DuplicateMessage(m)
    \/ \E m \in DOMAIN messages : DropMessage(m)

Spec ==
    /\ Init
    /\ [][Next]_vars
    /\ \A i \in Server : WF_vars(Tick(i))
    /\ \A i, j \in Server : WF_vars(ReceiveOn(j, i))

====
