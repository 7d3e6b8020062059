set terminal svg size 640,400 font "sans,11"
set output "docs/bench/backlog.svg"
set title "smppd: drain rate and memory against queue backlog"
set datafile separator ","
set xlabel "messages stored in the queue"
set logscale x
set ylabel "drain msg/s (first 500,000)"
set y2label "RSS MB"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key top left
set grid
plot "docs/bench/backlog.csv" every ::1 using 1:2 with linespoints lw 2 title "drain msg/s", \
     "" every ::1 using 1:3 axes x1y2 with linespoints lw 1 dt 2 title "VmRSS MB (LMDB pages)", \
     "" every ::1 using 1:4 axes x1y2 with linespoints lw 1 title "private RSS MB"
