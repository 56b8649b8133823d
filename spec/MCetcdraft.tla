--------------------------- MODULE MCetcdraft ---------------------------
(***************************************************************************)
(* Model-checking harness for etcdraft: the properties Raft must satisfy, *)
(* the bounds that make the state space finite, and the symmetry that     *)
(* shrinks it. The .cfg files pick the constants and what to check.       *)
(***************************************************************************)
EXTENDS etcdraft

CONSTANTS
    MaxTerm,      \* no server or message goes beyond this term
    MaxLogLen,    \* no log grows beyond this many entries
    MaxInFlight,  \* at most this many messages (copies counted) in the network
    MaxCopies     \* at most this many copies of one message (duplication)

----------------------------------------------------------------------------
(* Bounds (CONSTRAINT). States outside them are not explored. In liveness *)
(* checking, a behaviour cut off by a bound while a fair action is still   *)
(* enabled counts as unfair and is not checked (see README.md).            *)

RECURSIVE SumCopies(_)
SumCopies(S) ==
    IF S = {} THEN 0
    ELSE LET m == CHOOSE x \in S : TRUE IN messages[m] + SumCopies(S \ {m})

StateConstraint ==
    /\ \A i \in Server : currentTerm[i] <= MaxTerm /\ Len(log[i]) <= MaxLogLen
    /\ \A m \in DOMAIN messages : m.mterm <= MaxTerm /\ messages[m] <= MaxCopies
    /\ SumCopies(DOMAIN messages) <= MaxInFlight

\* Servers are interchangeable (safety configs only: TLC's liveness checking
\* is unsound under symmetry).
Symmetry == Permutations(Server)

----------------------------------------------------------------------------
(* Invariants.                                                             *)

States == {StateFollower, StatePreCandidate, StateCandidate, StateLeader}
Entry == [term : Nat, value : Value \cup {None}]

TypeOK ==
    /\ currentTerm \in [Server -> Nat]
    /\ votedFor \in [Server -> Server \cup {None}]
    /\ state \in [Server -> States]
    /\ leader \in [Server -> Server \cup {None}]
    /\ \A i \in Server : log[i] \in Seq(Entry)
    /\ commitIndex \in [Server -> Nat]
    /\ votesGranted \in [Server -> SUBSET Server]
    /\ votesRejected \in [Server -> SUBSET Server]
    /\ matchIndex \in [Server -> [Server -> Nat]]
    /\ nextIndex \in [Server -> [Server -> Nat \ {0}]]
    /\ electionElapsed \in [Server -> Nat]
    /\ randomizedTimeout \in [Server -> TimeoutRange]
    /\ heartbeatElapsed \in [Server -> 0..(HeartbeatTimeout - 1)]
    /\ \A m \in DOMAIN messages : messages[m] \in Nat \ {0}

\* The election timer never runs past the randomized timeout of a server
\* that may campaign: reaching it starts a (pre-)campaign in the same tick.
\* A leader's election timer is not modelled (it drives only CheckQuorum and
\* leadership transfer, both out of scope) and stays at 0.
TimerWithinTimeout ==
    \A i \in Server :
        IF state[i] = StateLeader THEN electionElapsed[i] = 0
        ELSE electionElapsed[i] < randomizedTimeout[i]

\* Election safety: at most one leader per term. Besides the current
\* leaders, a MsgApp or MsgHeartbeat still in flight witnesses that its
\* sender led that term, which also catches a leader that has already
\* stepped down.
Leadership ==
    {<<currentTerm[i], i>> : i \in {s \in Server : state[s] = StateLeader}}
    \cup {<<m.mterm, m.msource>> :
            m \in {x \in DOMAIN messages : x.mtype \in {MsgApp, MsgHeartbeat}}}

ElectionSafety ==
    \A a, b \in Leadership : a[1] = b[1] => a[2] = b[2]

\* Log matching: two logs with an entry of the same index and term are
\* identical up to that index.
LogMatching ==
    \A i, j \in Server :
        \A n \in 1..Min(LastIndex(i), LastIndex(j)) :
            log[i][n].term = log[j][n].term =>
                SubSeq(log[i], 1, n) = SubSeq(log[j], 1, n)

\* Leader completeness: a leader holds every entry that any server at the
\* same or an older term knows to be committed. (A server at a newer term
\* may know of commits made after this leader was deposed.)
LeaderCompleteness ==
    \A i \in Server : state[i] = StateLeader =>
        \A k \in Server : currentTerm[k] <= currentTerm[i] =>
            \A n \in 1..commitIndex[k] :
                n <= LastIndex(i) /\ log[i][n] = log[k][n]

\* State-machine safety: servers never commit different entries at one
\* index (so they apply the same commands in the same order).
StateMachineSafety ==
    \A i, j \in Server :
        \A n \in 1..Min(commitIndex[i], commitIndex[j]) : log[i][n] = log[j][n]

\* etcd panics in commitTo if asked to commit beyond its last index.
CommitWithinLog ==
    \A i \in Server : commitIndex[i] <= LastIndex(i)

\* One vote per term, as visible in the state: a candidate votes for itself,
\* and every vote a candidate has counted, or that is still travelling as a
\* granted MsgVoteResp, is still the voter's vote if the voter has not left
\* that term. (VoteNeverChangesInTerm below covers the history.)
VoteOncePerTerm ==
    /\ \A c \in Server : state[c] = StateCandidate =>
           /\ votedFor[c] = c
           /\ \A v \in votesGranted[c] \ {c} :
                  currentTerm[v] = currentTerm[c] => votedFor[v] = c
    /\ \A m \in DOMAIN messages :
           (m.mtype = MsgVoteResp /\ ~m.mreject /\ currentTerm[m.msource] = m.mterm)
               => votedFor[m.msource] = m.mdest

----------------------------------------------------------------------------
(* Action properties (PROPERTY): checked on every step.                    *)

CommitIndexMonotonic ==
    [][\A i \in Server : commitIndex'[i] >= commitIndex[i]]_vars

TermMonotonic ==
    [][\A i \in Server : currentTerm'[i] >= currentTerm[i]]_vars

\* Once a server has voted in a term, its vote stays until its term changes
\* (and terms never go back), so it votes at most once per term.
VoteNeverChangesInTerm ==
    [][\A i \in Server :
          (currentTerm'[i] = currentTerm[i] /\ votedFor[i] /= None)
              => votedFor'[i] = votedFor[i]]_vars

\* etcd panics if an append would overwrite a committed entry.
CommittedEntriesStable ==
    [][\A i \in Server :
          \A n \in 1..commitIndex[i] : n <= Len(log'[i]) /\ log'[i][n] = log[i][n]]_vars

----------------------------------------------------------------------------
(* Liveness.                                                               *)

LeaderExists == \E i \in Server : state[i] = StateLeader

LossyStep == \E m \in DOMAIN messages : DropMessage(m)

\* If the network eventually stops losing messages (it may still delay,
\* reorder and duplicate them), some server eventually becomes leader.
\* Written as "messages are lost infinitely often, or a leader appears":
\* TLC checks []<><<A>>_v directly, and this is equivalent to
\* (<>[][~LossyStep]_vars) => <>LeaderExists.
EventuallyLeader ==
    []<><<LossyStep>>_vars \/ <>LeaderExists

\* ACTION_CONSTRAINT of the liveness models: no step out of a state that
\* has a leader. Every behaviour reaching such a state satisfies both
\* liveness properties here, so what follows it need not be explored;
\* behaviours that never elect a leader are untouched.
LeaderNotYetElected == ~LeaderExists

\* The same without the assumption on the network: must FAIL (a network that
\* drops every pre-vote keeps all servers followers forever). Checked to
\* show that the liveness check can find a counterexample.
EventuallyLeaderOverLossyNetwork == <>LeaderExists

=============================================================================
