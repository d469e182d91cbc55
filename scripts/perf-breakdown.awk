# Reads `perf script -F comm,ip,sym` (call chains of `perf record -g`) and
# prints, over the samples outside the idle task, how many have each of
# these in their chain: the sender's system call (on veth it runs the
# router's whole forwarding path on the sending CPU), netfilter's hooks,
# nf_tables' rule sets, conntrack, NAT. A sample counts once per part.
#   perf script -i F -F comm,ip,sym | awk -f scripts/perf-breakdown.awk
BEGIN {
    part["__sys_sendmmsg"] = 1; part["nf_hook_slow"] = 2; part["nft_do_chain"] = 3
    part["nf_conntrack_in"] = 4
    part["nf_nat_inet_fn"] = 5; part["nf_nat_ipv4_pre_routing"] = 5; part["nf_nat_ipv4_out"] = 5
    part["nf_nat_ipv4_local_fn"] = 5; part["nf_nat_ipv4_local_in"] = 5
}
function flush() {
    if (comm != "" && comm != "swapper") for (i in seen) n[i]++
    delete seen
    comm = ""
}
NF == 0 { flush(); next }
comm == "" { comm = $1; next }
$2 in part { seen[part[$2]] = 1 }
END { flush(); printf "%d %d %d %d %d\n", n[1], n[2], n[3], n[4], n[5] }
