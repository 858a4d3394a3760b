#!/usr/bin/perl
# Drives MariaDB traffic at the testbed's server and writes a manifest.
#
# Usage: mysql-driver.pl SERVER_IP MANIFEST
#
# The server is the one scripts/db-testbed.sh starts (MariaDB on
# SERVER_IP:3306, TLS offered, users wl (mysql_native_password) and wl_ed
# (ed25519: the server's AuthSwitchRequest), database wldb, fresh).
# Clients: Perl DBD::MariaDB (libmariadb) with server-side prepare (the
# binary protocol: COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_CLOSE) and
# without it (the text protocol: COM_QUERY with the values inlined, several
# statements in one COM_QUERY), and the mariadb command-line client (which
# splits its -e text at the semicolons itself: one COM_QUERY each; its `use`
# is a COM_INIT_DB). Sessions without TLS, and with TLS (mariadb_ssl=1,
# --ssl), whose commands are encrypted.
#
# Dies when the server did not answer as the scenario relies on: the
# manifest is then not written whole.
#
# Manifest: one JSON object per line.
#
# Session line ("kind": "session"), one per connection, before its commands:
#   session        the driver's name for it (unique)
#   client         "dbd" or "cli"
#   src_port       the client's port; null when the login failed
#   user, database the login's (database null when none was given)
#   tls            the session switched to TLS after the greeting
#   auth           the user's plugin: "mysql_native_password" or "ed25519"
#   server_prepare DBD::MariaDB's mariadb_server_prepare (dbd only)
#   login_error    null, or the server's error code (1045)
#   connection_id  the server's thread id (null on failure)
#
# Command line ("kind": "command"), in the order sent on the session:
#   session, src_port, tls     its session's
#   seq            0-based, per session
#   op             the command, COM_ dropped, lower case: query,
#                  stmt_prepare, stmt_execute, stmt_reset, stmt_close,
#                  init_db, ping, quit
#   sent_by        "driver", or "dbd" / "cli" for what the library or the
#                  client sent by itself: DBD::MariaDB's four SETs after the
#                  login, its COM_STMT_RESET after a failed execute, its
#                  COM_STMT_CLOSE and COM_QUIT; the client's SELECT DATABASE()
#                  before a `use`, its COM_QUIT
#   statement      query and stmt_prepare: the text sent (for a COM_QUERY of
#                  several statements, this statement's part: from its first
#                  character to its `;` included, or to the end; index says
#                  which); stmt_execute and stmt_close: the prepared text;
#                  init_db: the database name; null for ping and quit
#   index          the statement's place in a COM_QUERY of several, else null
#   params         stmt_execute: the values bound, in order (null: NULL;
#                  a blob: {"hex": "..."}); else []
#   rows           an OK's affected rows, or the rows of a result set; null
#                  for an error and for commands without answer
#   result         "ok", "rows" (a result set), "error", "prepared"
#                  (COM_STMT_PREPARE's OK), "skipped" (a statement of a
#                  COM_QUERY of several after one that failed: the server
#                  never ran it), or null (stmt_close and quit are not
#                  answered)
#   error_code, sqlstate   the ERR packet's, else null
#   success        true for ok, rows and prepared; false for error; null when
#                  not answered
use strict;
use warnings;
use DBI;
use JSON::PP;
use Socket qw(sockaddr_in);
use IO::Handle;

my ($SRV, $OUT) = @ARGV;
die "usage: $0 SERVER_IP MANIFEST\n" unless $OUT;
open(my $out, '>', $OUT) or die "$OUT: $!";
$out->autoflush(1);
my $json = JSON::PP->new->canonical;
my %PW = (wl => 'wl-pw', wl_ed => 'wl-ed-pw');
my %PLUGIN = (wl => 'mysql_native_password', wl_ed => 'ed25519');

sub note { print $out $json->encode({@_}), "\n" }

sub want { my ($ok, $what) = @_; die "mysql-driver: $what\n" unless $ok }

# One DBD::MariaDB connection.
package Session;

sub new {
    my ($class, %a) = @_;
    my $s = bless {%a, seq => 0, port => undef}, $class;
    my $dsn = "DBI:MariaDB:host=$SRV;port=3306;database=wldb;mariadb_connect_timeout=5";
    $dsn .= ";mariadb_server_prepare=1;mariadb_server_prepare_disable_fallback=1" if $a{prepare};
    # The throwaway certificate is not verified, which DBD::MariaDB allows
    # only with mariadb_ssl_optional; that TLS is in use is checked below.
    $dsn .= ";mariadb_ssl=1;mariadb_ssl_optional=1" if $a{tls};
    $dsn .= ";mariadb_multi_statements=1" if $a{multi};
    my $pw = $a{password} // $PW{$a{user}};
    $s->{dbh} = DBI->connect($dsn, $a{user}, $pw, {RaiseError => 0, PrintError => 0, AutoCommit => 1});
    my $dbh = $s->{dbh};
    my %line = (kind => 'session', session => $a{name}, client => 'dbd', user => $a{user},
                database => 'wldb', tls => $a{tls} ? JSON::PP::true : JSON::PP::false,
                auth => $PLUGIN{$a{user}}, server_prepare => $a{prepare} ? JSON::PP::true : JSON::PP::false);
    if (!$dbh) {
        main::note(%line, src_port => undef, login_error => $DBI::err + 0, connection_id => undef);
        return $s;
    }
    open(my $fh, '+<&=', $dbh->mariadb_sockfd) or die "sockfd: $!";
    my ($port) = Socket::sockaddr_in(getsockname($fh));
    $s->{port} = $port;
    $s->{fh} = $fh;
    my $cipher = $dbh->{mariadb_ssl_cipher};
    main::want(!!$cipher == !!$a{tls}, "$a{name}: TLS cipher " . ($cipher // 'none'));
    main::note(%line, src_port => $port, login_error => undef,
               connection_id => $dbh->{mariadb_thread_id} + 0);
    # What DBD::MariaDB sends after every login (COM_QUERY in both modes).
    for my $q ("SET NAMES 'utf8mb4'", "SET character_set_server = 'utf8mb4'",
               "SET collation_connection = 'utf8mb4_unicode_ci'",
               "SET collation_server = 'utf8mb4_unicode_ci'") {
        $s->cmd(op => 'query', statement => $q, sent_by => 'dbd', result => 'ok', rows => 0,
                success => JSON::PP::true);
    }
    return $s;
}

# A command line.
sub cmd {
    my ($s, %kv) = @_;
    my %line = (kind => 'command', session => $s->{name}, src_port => $s->{port},
                tls => $s->{tls} ? JSON::PP::true : JSON::PP::false, seq => $s->{seq}++,
                sent_by => 'driver', statement => undef, index => undef, params => [],
                rows => undef, result => undef, error_code => undef, sqlstate => undef,
                success => undef, %kv);
    main::note(%line);
}

# The outcome of the last call on the handle: ok/rows with the count, or
# the error.
sub outcome {
    my ($s, $h, $rv, $rows) = @_;
    if (!defined $rv) {
        return (result => 'error', error_code => $h->err + 0, sqlstate => $h->state,
                success => JSON::PP::false);
    }
    return (result => 'rows', rows => $rows, success => JSON::PP::true) if defined $rows;
    return (result => 'ok', rows => $rv + 0, success => JSON::PP::true);
}

sub params_json {
    my @p;
    for my $v (@_) {
        if (ref $v eq 'HASH') { push @p, {hex => unpack('H*', $v->{blob})} }
        elsif (!defined $v) { push @p, undef }
        else { push @p, $v }
    }
    return \@p;
}

# A statement without parameters: $dbh->do (or a SELECT's fetch). Without
# server-side prepare one COM_QUERY; with it, DBD::MariaDB prepares that
# too (COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_CLOSE).
sub query {
    my ($s, $sql, %expect) = @_;
    return $s->prepared($sql, [[[], %expect]], %expect) if $s->{prepare};
    my $dbh = $s->{dbh};
    my ($rv, $rows);
    if ($sql =~ /^\s*(SELECT|SHOW)/i) {
        my $r = $dbh->selectall_arrayref($sql);
        ($rv, $rows) = $r ? (1, scalar @$r) : (undef, undef);
    } else {
        $rv = $dbh->do($sql);
    }
    my %o = $s->outcome($dbh, $rv, $rows);
    $s->check($sql, \%o, \%expect);
    $s->cmd(op => 'query', statement => $sql, %o);
}

# prepare + execute (+ finish): with server_prepare, COM_STMT_PREPARE at
# prepare, COM_STMT_EXECUTE per execute, COM_STMT_CLOSE when the handle
# goes; without it, one COM_QUERY per execute with the values inlined.
sub prepared {
    my ($s, $sql, $runs, %expect) = @_;
    my $dbh = $s->{dbh};
    my $sth = $dbh->prepare($sql);
    if ($s->{prepare}) {
        if (!$sth) {
            my %o = $s->outcome($dbh, undef);
            my %e = map { $_ => $expect{$_} } grep { /^error_code$|^sqlstate$/ } keys %expect;
            $s->check("prepare $sql", \%o, \%e);
            $s->cmd(op => 'stmt_prepare', statement => $sql, %o);
            return;
        }
        $s->cmd(op => 'stmt_prepare', statement => $sql, result => 'prepared',
                success => JSON::PP::true);
    }
    for my $run (@$runs) {
        my ($params, %want) = @$run;
        my @bind = map { ref $_ eq 'HASH' ? $_->{blob} : $_ } @$params;
        for my $i (0 .. $#bind) {
            my $t = ref $params->[$i] eq 'HASH' ? DBI::SQL_BLOB() : undef;
            $sth->bind_param($i + 1, $bind[$i], $t ? {TYPE => $t} : ());
        }
        my $rv = $sth->execute;
        my $rows;
        if (defined $rv && $sth->{NUM_OF_FIELDS}) {
            my $r = $sth->fetchall_arrayref;
            $rows = scalar @$r;
        }
        my %o = $s->outcome($sth, $rv, $rows);
        $s->check("$sql @{[map { $_ // 'NULL' } @bind]}", \%o, \%want);
        if ($s->{prepare}) {
            $s->cmd(op => 'stmt_execute', statement => $sql, params => params_json(@$params), %o);
            # After a failed execute DBD::MariaDB resets the statement.
            $s->cmd(op => 'stmt_reset', statement => $sql, sent_by => 'dbd', result => 'ok',
                    rows => 0, success => JSON::PP::true) unless $o{success};
        } else {
            $s->cmd(op => 'query', statement => inline($dbh, $sql, $params), %o);
        }
    }
    $sth->finish;
    undef $sth;
    $s->cmd(op => 'stmt_close', statement => $sql, sent_by => 'dbd') if $s->{prepare};
}

# The text DBD::MariaDB sends for $sql with @$params inlined (its quoting).
# A value bound as SQL_BLOB is quoted there as any string ('it\'s', as a
# capture of the COM_QUERY shows), not as quote($v, SQL_BLOB) would write
# it (X'69742773').
sub inline {
    my ($dbh, $sql, $params) = @_;
    my @p = @$params;
    $sql =~ s/\?/my $v = shift @p; $dbh->quote(ref $v eq 'HASH' ? $v->{blob} : $v)/ge;
    return $sql;
}

sub check {
    my ($s, $what, $o, $expect) = @_;
    for my $k (sort keys %$expect) {
        my $got = $o->{$k};
        main::want(defined $got && $got eq $expect->{$k},
                   "$s->{name}: $what: $k is " . ($got // 'undef') . ", wants $expect->{$k} ("
                   . ($DBI::errstr // '') . ')');
    }
}

sub ping {
    my ($s) = @_;
    main::want($s->{dbh}->ping, "$s->{name}: ping");
    $s->cmd(op => 'ping', result => 'ok', rows => 0, success => JSON::PP::true);
}

sub close {
    my ($s) = @_;
    return unless $s->{dbh};
    $s->{dbh}->disconnect;
    $s->cmd(op => 'quit', sent_by => 'dbd');
}

package main;

# The commands of a session in either protocol.
sub workload {
    my ($s, $t) = @_;    # $t: the table, one per session
    $s->query("CREATE TABLE $t (id INT PRIMARY KEY, name VARCHAR(40), note TEXT, data BLOB)",
              result => 'ok');
    my $ins = "INSERT INTO $t (id, name, note, data) VALUES (?, ?, ?, ?)";
    $s->prepared($ins, [
        # A blob of bytes that are not text (binary protocol only: a
        # COM_QUERY would carry them inside its text).
        [[1, 'apple', 'red', {blob => $s->{prepare} ? "\x00\x01\xff" : "it's"}], rows => 1],
        [[2, "O'Brien", undef, undef], rows => 1],
        [[3, 'cherry', 'x' x 300, {blob => 'b' x 70}], rows => 1],
        [[1, 'dup', undef, undef], error_code => 1062],
    ]);
    $s->prepared("SELECT id, name FROM $t WHERE id >= ? ORDER BY id", [
        [[1], rows => 3],
        [[3], rows => 1],
        [[9], rows => 0],
    ]);
    $s->prepared("UPDATE $t SET note = ? WHERE id < ?", [[['upd', 3], rows => 2]]);
    $s->query("DELETE FROM $t WHERE id = 3", rows => 1);
    $s->query("SELEC 1", error_code => 1064);
    if ($s->{prepare}) {
        # A statement the server refuses to prepare.
        $s->prepared("SELECT * FROM $t WHERE", [], error_code => 1064);
    }
    $s->query("USE wldb", result => 'ok');
    $s->ping;
    $s->query("SELECT COUNT(*) FROM $t", rows => 1);
}

sub cli {
    my ($name, $tls, $text, $cmds) = @_;
    my $first = "SELECT host FROM information_schema.processlist WHERE id = CONNECTION_ID()";
    my @args = ('mariadb', '--no-defaults', '-h', $SRV, '-P', '3306', '-u', 'wl', '-pwl-pw',
                '-D', 'wldb', '--force', '--batch', '--skip-column-names',
                $tls ? ("--ssl", "--disable-ssl-verify-server-cert") : ("--skip-ssl"),
                '-e', "$first; $text");
    open(my $p, '-|', @args) or die "mariadb: $!";
    my @lines = <$p>;
    close $p;
    chomp @lines;
    my ($host, $port) = split /:/, $lines[0];
    want($host eq '10.' . (split /\./, $SRV)[1] . '.0.1', "cli host $lines[0]");
    note(kind => 'session', session => $name, client => 'cli', src_port => $port + 0,
         user => 'wl', database => 'wldb', tls => $tls ? JSON::PP::true : JSON::PP::false,
         auth => 'mysql_native_password', server_prepare => undef, login_error => undef,
         connection_id => undef);
    my $seq = 0;
    my %base = (kind => 'command', session => $name, src_port => $port + 0,
                tls => $tls ? JSON::PP::true : JSON::PP::false, sent_by => 'driver',
                index => undef, params => [], error_code => undef, sqlstate => undef);
    note(%base, seq => $seq++, op => 'query', statement => $first, rows => 1, result => 'rows',
         success => JSON::PP::true);
    for my $c (@$cmds) {
        note(%base, seq => $seq++, rows => undef, result => undef, success => undef,
             statement => undef, %$c);
    }
    note(%base, seq => $seq++, op => 'quit', sent_by => 'cli', statement => undef, rows => undef,
         result => undef, success => undef);
}

# Text protocol, several statements in one COM_QUERY (multiple result sets).
sub multi {
    my ($s) = @_;
    my @parts = ("INSERT INTO wl_text (id, name) VALUES (10, 'm;1');",
                 "SELECT id FROM wl_text WHERE id >= 2;",
                 "UPDATE wl_text SET note = 'm' WHERE id >= 10");
    my $sql = join ' ', @parts;
    my $sth = $s->{dbh}->prepare($sql);
    want($sth->execute, "multi: " . ($DBI::errstr // ""));
    my @got;
    do {
        if ($sth->{NUM_OF_FIELDS}) {
            push @got, ['rows', scalar @{$sth->fetchall_arrayref}];
        } else {
            push @got, ['ok', $sth->rows + 0];
        }
    } while ($sth->more_results);
    want("@{[map { @$_ } @got]}" eq 'ok 1 rows 2 ok 1', "multi: @{[map { @$_ } @got]}");
    for my $i (0 .. $#parts) {
        $s->cmd(op => 'query', statement => $parts[$i], index => $i, result => $got[$i][0],
                rows => $got[$i][1], success => JSON::PP::true);
    }
    # One failing in the middle: the server stops there.
    @parts = ("INSERT INTO wl_text (id, name) VALUES (11, 'm2');",
              "INSERT INTO wl_text (id, name) VALUES (1, 'dup');",
              "SELECT 1");
    $sql = join ' ', @parts;
    $sth = $s->{dbh}->prepare($sql);
    # The first statement's OK, then the error as the next result.
    want($sth->execute && $sth->rows == 1, "multi: first statement: " . ($DBI::errstr // ""));
    want(!$sth->more_results && ($sth->err // 0) == 1062, "multi: error " . ($sth->err // 'none'));
    $s->cmd(op => 'query', statement => $parts[0], index => 0, result => 'ok', rows => 1,
            success => JSON::PP::true);
    $s->cmd(op => 'query', statement => $parts[1], index => 1, result => 'error',
            error_code => 1062, sqlstate => '23000', success => JSON::PP::false);
    # The server stops at the error: the rest of the text never runs.
    $s->cmd(op => 'query', statement => $parts[2], index => 2, result => 'skipped');
}

my $bin = Session->new(name => 'my-binary', user => 'wl', prepare => 1);
workload($bin, 'wl_bin');
$bin->close;

my $text = Session->new(name => 'my-text', user => 'wl_ed', multi => 1);
workload($text, 'wl_text');
multi($text);
$text->close;

Session->new(name => 'my-badpw', user => 'wl', password => 'wrong');

cli('my-cli', 0,
    "USE wldb; INSERT INTO wl_bin (id, name) VALUES (20, 'cli'); SELECT id FROM wl_bin; "
    . "UPDATE wl_bin SET note = 'c' WHERE id = 20; SELEC 2",
    # The client's `use`: it asks the current database first.
    [{op => 'query', statement => 'SELECT DATABASE()', sent_by => 'cli', result => 'rows',
      rows => 1, success => JSON::PP::true},
     {op => 'init_db', statement => 'wldb', result => 'ok', rows => 0, success => JSON::PP::true},
     {op => 'query', statement => "INSERT INTO wl_bin (id, name) VALUES (20, 'cli')", result => 'ok',
      rows => 1, success => JSON::PP::true},
     {op => 'query', statement => 'SELECT id FROM wl_bin', result => 'rows', rows => 3,
      success => JSON::PP::true},
     {op => 'query', statement => "UPDATE wl_bin SET note = 'c' WHERE id = 20", result => 'ok',
      rows => 1, success => JSON::PP::true},
     # The client stops at the first error (--force or not, with -e).
     {op => 'query', statement => 'SELEC 2', result => 'error', error_code => 1064,
      sqlstate => '42000', success => JSON::PP::false}]);

# TLS: the commands are encrypted.
for my $p (0, 1) {
    my $s = Session->new(name => "my-tls-$p", user => $p ? 'wl' : 'wl_ed', prepare => $p, tls => 1);
    $s->prepared("SELECT id FROM wl_bin WHERE id < ?", [[[3], rows => 2]]);
    $s->ping;
    $s->close;
}
cli('my-cli-tls', 1, "SELECT 1",
    [{op => 'query', statement => 'SELECT 1', result => 'rows', rows => 1,
      success => JSON::PP::true}]);
close $out;
