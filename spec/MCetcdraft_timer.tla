------------------------ MODULE MCetcdraft_timer ------------------------
(***************************************************************************)
(* "Heartbeats prevent elections", checked on etcdraft's election timer.  *)
(*                                                                         *)
(* Raft promises that a leader which keeps ticking, and whose heartbeats  *)
(* reach its followers in time, is never deposed: every heartbeat resets  *)
(* the followers' election timers before they run out. That rests on a    *)
(* timing assumption the specification alone does not make (any server    *)
(* may tick any number of times in a row, and messages may be delayed or  *)
(* lost), so this module adds it, with one auxiliary variable:            *)
(*                                                                         *)
(*  - clocks run at the same rate: time advances in rounds, and in each   *)
(*    round every server ticks exactly once, in any order (`ticked` holds *)
(*    the servers that have ticked in the current round);                *)
(*  - messages are delivered within a tick, and none is lost or           *)
(*    duplicated: a server ticks only when the network is empty, and the  *)
(*    network actions are left out.                                       *)
(*                                                                         *)
(* Between two heartbeats of a leader (HeartbeatTimeout = 1: one per      *)
(* leader tick) a follower can then tick at most twice (once late in a    *)
(* round, once early in the next), so with ElectionTimeout >= 3 no        *)
(* follower's timer runs out while it follows a live leader.              *)
(*                                                                         *)
(* The property: once every other server follows a leader in its term,    *)
(* that leader stays leader (LeaderNeverDeposed). With the planted bug    *)
(* BuggyHeartbeatReset (a follower's timer is not reset by a heartbeat)   *)
(* a follower times out, wins a pre-vote and deposes the leader with its  *)
(* MsgVote; MCetcdraft_timer_buggy.cfg must find that.                    *)
(***************************************************************************)
EXTENDS MCetcdraft

VARIABLES
    ticked,     \* servers that have ticked in the current round
    followed    \* leaders that every other server has followed in their term

timedVars == <<vars, ticked, followed>>

\* Every other server follows leader i in i's term.
FollowedByAll(i) ==
    /\ state[i] = StateLeader
    /\ \A j \in Server \ {i} :
           /\ state[j] = StateFollower
           /\ currentTerm[j] = currentTerm[i]
           /\ leader[j] = i

\* History: a leader joins `followed` once every server follows it, and
\* leaves it only by ceasing to lead (which LeaderNeverDeposed forbids).
FollowedNext ==
    followed' = {i \in Server : state'[i] = StateLeader /\ (i \in followed \/ FollowedByAll(i)')}

TimedTick(i) ==
    /\ i \notin ticked
    /\ DOMAIN messages = {}
    /\ Tick(i)
    /\ ticked' = IF ticked \cup {i} = Server THEN {} ELSE ticked \cup {i}

TimedInit ==
    /\ Init
    /\ ticked = {}
    /\ followed = {}

TimedNext ==
    /\ \/ \E i \in Server : TimedTick(i)
       \/ /\ \/ \E i \in Server, v \in Value : ClientRequest(i, v)
             \/ \E i, j \in Server : AppendEntries(i, j)
             \/ \E m \in DOMAIN messages : Receive(m)
          /\ UNCHANGED ticked
    /\ FollowedNext

TimedSpec == TimedInit /\ [][TimedNext]_timedVars

\* A leader once followed by all is never deposed.
LeaderNeverDeposed ==
    [][\A i \in followed : state'[i] = StateLeader]_timedVars

\* The check is not vacuous: some behaviour gets a leader followed by all.
\* (Checked as an invariant that must be violated, off CI; see README.md.)
NoLeaderEverFollowed == followed = {}

=============================================================================
