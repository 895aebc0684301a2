// Package logs writes and reads agents' log files.
//
// The keeper owns each agent's stdout and stderr pipes; Copy reads a pipe and
// hands every line to a Writer, which appends it to the agent's log file and
// rotates that file by rename-and-reopen (never copytruncate, which loses the
// lines written between the copy and the truncate). Read serves `berth logs`:
// it reads the rotated files (plain or gzipped) and the live file in order,
// and can follow the live file across rotations.
//
// # File format
//
// A log file is a sequence of records, one per line:
//
//	<time> <tag> <text>\n
//
// <time> is the UTC time the line was read, in TimeFormat (fixed width).
// <tag> is the stream, "out" or "err". <text> is the line's bytes as the
// agent wrote them, without its newline and without one trailing "\r";
// invalid UTF-8 is kept unchanged.
//
// A line longer than Options.MaxLine bytes is split into pieces of at most
// MaxLine bytes. Every piece but the last is tagged with a "+" after the
// stream ("out+", "err+"): it means "this line goes on in the next record of
// the same stream". The last piece has the plain tag. A reader joins the
// pieces of a stream until it meets a plain tag. The "+" marks the pieces
// that continue rather than the ones that follow, so a reader never has to
// wait to learn whether a line is finished (which `berth logs -f` needs);
// records of the other stream may sit between two pieces.
//
// # Rotation
//
// The live file is path; when it reaches MaxSize or its first line is older
// than MaxAge it is renamed to path.<UTC time, ns> (TimeFormatRotated:
// sortable and unique) and a fresh path is opened. A background worker, one
// per Writer, gzips rotated files (path.<time>.gz, written to a temporary
// name and renamed, so a crash never leaves a partial file under the final
// name) and deletes the oldest rotated files beyond Keep and MaxTotal.
//
// A path must have at most one Writer at a time (the keeper of its agent).
package logs
