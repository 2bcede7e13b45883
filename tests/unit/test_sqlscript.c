/* test_sqlscript.c - splitting SQL scripts as the mysql client does */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "sqlscript.h"
#include "suites.h"

/*=== Helpers ===*/

#define MAX_STMTS 32

struct got {
    int n;
    char stmt[MAX_STMTS][512];
    int line[MAX_STMTS];
    int stop_after; /* return 7 from the callback at this statement (1-based); 0: never */
};

static int collect(void *ctx, const char *stmt, size_t n, int line)
{
    struct got *g = ctx;
    ck_assert_int_lt(g->n, MAX_STMTS);
    ck_assert_uint_lt(n, sizeof(g->stmt[0]));
    memcpy(g->stmt[g->n], stmt, n);
    g->stmt[g->n][n] = '\0';
    g->line[g->n] = line;
    g->n++;
    return g->stop_after && g->n == g->stop_after ? 7 : 0;
}

static int split(const char *text, struct got *g)
{
    memset(g, 0, sizeof(*g));
    return sqlscript_split(text, strlen(text), collect, g);
}

static void assert_stmts(const struct got *g, int n, const char *const *want)
{
    char all[4096] = "";
    for (int i = 0; i < g->n; i++) {
        strncat(all, "[", sizeof(all) - strlen(all) - 1);
        strncat(all, g->stmt[i], sizeof(all) - strlen(all) - 1);
        strncat(all, "] ", sizeof(all) - strlen(all) - 1);
    }
    ck_assert_msg(g->n == n, "want %d statements, got %d: %s", n, g->n, all);
    for (int i = 0; i < n; i++)
        ck_assert_msg(strcmp(g->stmt[i], want[i]) == 0, "statement %d: want [%s] got [%s]", i,
                      want[i], g->stmt[i]);
}

/*=== Default delimiter ===*/

START_TEST(semicolons_split)
{
    static const char *want[] = {"SELECT 1", "SELECT 2", "SELECT 3"};
    struct got g;
    ck_assert_int_eq(split("SELECT 1;SELECT 2; SELECT 3;", &g), 0);
    assert_stmts(&g, 3, want);
}
END_TEST

START_TEST(statements_trimmed)
{
    static const char *want[] = {"CREATE TABLE t (\n  id INT\n)", "SELECT 1"};
    struct got g;
    ck_assert_int_eq(split("\n\n  CREATE TABLE t (\n  id INT\n)  ;\n\t SELECT 1 \n;\n", &g), 0);
    assert_stmts(&g, 2, want);
}
END_TEST

START_TEST(trailing_statement_without_delimiter)
{
    static const char *want[] = {"SELECT 1", "SELECT 2"};
    struct got g;
    ck_assert_int_eq(split("SELECT 1;\nSELECT 2\n", &g), 0);
    assert_stmts(&g, 2, want);
}
END_TEST

START_TEST(empty_statements_skipped)
{
    static const char *want[] = {"SELECT 1"};
    struct got g;
    ck_assert_int_eq(split(";;  ;\n SELECT 1;;\n ; ", &g), 0);
    assert_stmts(&g, 1, want);
}
END_TEST

START_TEST(empty_script)
{
    struct got g;
    ck_assert_int_eq(split("", &g), 0);
    ck_assert_int_eq(g.n, 0);
    ck_assert_int_eq(split(" \n\t\r\n", &g), 0);
    ck_assert_int_eq(g.n, 0);
}
END_TEST

START_TEST(length_bounds_the_text)
{
    static const char *want[] = {"SELECT 1"};
    struct got g;
    const char *text = "SELECT 1;SELECT 2;";
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(sqlscript_split(text, 9, collect, &g), 0);
    assert_stmts(&g, 1, want);
}
END_TEST

/*=== Quotes ===*/

START_TEST(single_quotes_do_not_split)
{
    static const char *want[] = {"INSERT INTO t VALUES ('a;b')", "SELECT 2"};
    struct got g;
    split("INSERT INTO t VALUES ('a;b'); SELECT 2;", &g);
    assert_stmts(&g, 2, want);
}
END_TEST

START_TEST(double_quotes_do_not_split)
{
    static const char *want[] = {"SELECT \"x;y\"", "SELECT 2"};
    struct got g;
    split("SELECT \"x;y\"; SELECT 2;", &g);
    assert_stmts(&g, 2, want);
}
END_TEST

START_TEST(backticks_do_not_split)
{
    static const char *want[] = {"SELECT 1 AS `a;b`", "SELECT 2"};
    struct got g;
    split("SELECT 1 AS `a;b`; SELECT 2;", &g);
    assert_stmts(&g, 2, want);
}
END_TEST

START_TEST(backslash_escaped_quote_inside_string)
{
    static const char *want[] = {"SELECT 'it\\'s; fine'", "SELECT \"say \\\"hi;\\\"\"", "SELECT 3"};
    struct got g;
    split("SELECT 'it\\'s; fine'; SELECT \"say \\\"hi;\\\"\"; SELECT 3;", &g);
    assert_stmts(&g, 3, want);
}
END_TEST

START_TEST(doubled_quote_inside_string)
{
    static const char *want[] = {"SELECT 'it''s; fine'", "SELECT 2"};
    struct got g;
    split("SELECT 'it''s; fine'; SELECT 2;", &g);
    assert_stmts(&g, 2, want);
}
END_TEST

START_TEST(escaped_backslash_ends_string)
{
    static const char *want[] = {"SELECT 'a\\\\'", "SELECT 2"};
    struct got g;
    split("SELECT 'a\\\\'; SELECT 2;", &g);
    assert_stmts(&g, 2, want);
}
END_TEST

START_TEST(other_quotes_inside_quotes)
{
    static const char *want[] = {"SELECT '\"`;'", "SELECT \"'`;\"", "SELECT `'\";`", "SELECT 4"};
    struct got g;
    split("SELECT '\"`;'; SELECT \"'`;\"; SELECT `'\";`; SELECT 4;", &g);
    assert_stmts(&g, 4, want);
}
END_TEST

START_TEST(quoted_newlines_counted)
{
    struct got g;
    split("SELECT 'a\nb\nc';\nSELECT 2;", &g);
    ck_assert_int_eq(g.n, 2);
    ck_assert_int_eq(g.line[0], 1);
    ck_assert_int_eq(g.line[1], 4);
}
END_TEST

/*=== Comments ===*/

START_TEST(dash_comment_does_not_split)
{
    struct got g;
    split("SELECT 1 -- not here; nor here\n, 2;\nSELECT 3;", &g);
    ck_assert_int_eq(g.n, 2);
    ck_assert_ptr_nonnull(strstr(g.stmt[0], "SELECT 1"));
    ck_assert_ptr_nonnull(strstr(g.stmt[0], ", 2"));
    ck_assert_str_eq(g.stmt[1], "SELECT 3");
}
END_TEST

START_TEST(hash_comment_does_not_split)
{
    struct got g;
    split("SELECT 1 # a; b\n;\nSELECT 2;", &g);
    ck_assert_int_eq(g.n, 2);
    ck_assert_ptr_nonnull(strstr(g.stmt[0], "SELECT 1"));
    ck_assert_str_eq(g.stmt[1], "SELECT 2");
}
END_TEST

START_TEST(block_comment_does_not_split)
{
    struct got g;
    split("SELECT /* a; b;\n c; */ 1; SELECT 2;", &g);
    ck_assert_int_eq(g.n, 2);
    ck_assert_ptr_nonnull(strstr(g.stmt[0], "SELECT"));
    ck_assert_ptr_nonnull(strstr(g.stmt[0], " 1"));
    ck_assert_str_eq(g.stmt[1], "SELECT 2");
}
END_TEST

START_TEST(double_dash_without_space_is_not_a_comment)
{
    /* MySQL: "--" starts a comment only when followed by white space; 1--1 is 1 - -1 */
    static const char *want[] = {"SELECT 1--1", "SELECT 2"};
    struct got g;
    split("SELECT 1--1; SELECT 2;", &g);
    assert_stmts(&g, 2, want);
}
END_TEST

START_TEST(comment_markers_inside_quotes_ignored)
{
    static const char *want[] = {"SELECT '-- x', '# y', '/* z'", "SELECT 2"};
    struct got g;
    split("SELECT '-- x', '# y', '/* z'; SELECT 2;", &g);
    assert_stmts(&g, 2, want);
}
END_TEST

START_TEST(quotes_inside_comments_ignored)
{
    struct got g;
    split("-- it's\nSELECT 1;\n# don't\nSELECT 2;\n/* won't */ SELECT 3;", &g);
    ck_assert_int_eq(g.n, 3);
    ck_assert_ptr_nonnull(strstr(g.stmt[0], "SELECT 1"));
    ck_assert_ptr_nonnull(strstr(g.stmt[1], "SELECT 2"));
    ck_assert_ptr_nonnull(strstr(g.stmt[2], "SELECT 3"));
}
END_TEST

/*=== DELIMITER ===*/

START_TEST(delimiter_sections)
{
    const char *text = "CREATE TABLE t (id INT);\n"
                       "DELIMITER $$\n"
                       "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW\n"
                       "BEGIN\n"
                       "  INSERT INTO u VALUES (1);\n"
                       "  INSERT INTO u VALUES (2);\n"
                       "END$$\n"
                       "DELIMITER ;\n"
                       "SELECT 1;\n";
    static const char *want[] = {"CREATE TABLE t (id INT)",
                                 "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW\n"
                                 "BEGIN\n"
                                 "  INSERT INTO u VALUES (1);\n"
                                 "  INSERT INTO u VALUES (2);\n"
                                 "END",
                                 "SELECT 1"};
    struct got g;
    ck_assert_int_eq(split(text, &g), 0);
    assert_stmts(&g, 3, want);
    ck_assert_int_eq(g.line[0], 1);
    ck_assert_int_eq(g.line[1], 3);
    ck_assert_int_eq(g.line[2], 9);
}
END_TEST

START_TEST(delimiter_lower_case_and_indented)
{
    static const char *want[] = {"SELECT 1; SELECT 2", "SELECT 3"};
    struct got g;
    ck_assert_int_eq(split("  delimiter //\nSELECT 1; SELECT 2//\n\tDelimiter ;\nSELECT 3;", &g),
                     0);
    assert_stmts(&g, 2, want);
}
END_TEST

START_TEST(delimiter_inside_quotes_does_not_split)
{
    static const char *want[] = {"SELECT '$$', \"$$\", `$$`", "SELECT 2"};
    struct got g;
    split("DELIMITER $$\nSELECT '$$', \"$$\", `$$`$$\nSELECT 2$$\n", &g);
    assert_stmts(&g, 2, want);
}
END_TEST

START_TEST(delimiter_inside_comments_does_not_split)
{
    struct got g;
    split("DELIMITER $$\nSELECT 1 -- no $$ here\n/* nor $$ */ # nor $$\n$$\nSELECT 2$$\n", &g);
    ck_assert_int_eq(g.n, 2);
    ck_assert_ptr_nonnull(strstr(g.stmt[0], "SELECT 1"));
    ck_assert_str_eq(g.stmt[1], "SELECT 2");
}
END_TEST

START_TEST(delimiter_word_inside_statement_is_not_a_command)
{
    static const char *want[] = {"SELECT 'DELIMITER $$'", "SELECT delimiter FROM t"};
    struct got g;
    split("SELECT 'DELIMITER $$';\nSELECT delimiter FROM t;", &g);
    assert_stmts(&g, 2, want);
}
END_TEST

START_TEST(delimiter_line_inside_string_or_comment_is_not_a_command)
{
    static const char *want[] = {"SELECT 'a\nDELIMITER $$\nb'", "SELECT 2"};
    struct got g;
    split("SELECT 'a\nDELIMITER $$\nb'; SELECT 2;", &g);
    assert_stmts(&g, 2, want);
    split("SELECT /* x\nDELIMITER $$\n*/ 1; SELECT 2;", &g);
    ck_assert_int_eq(g.n, 2);
    ck_assert_str_eq(g.stmt[1], "SELECT 2");
}
END_TEST

START_TEST(delimiter_at_end_without_newline)
{
    static const char *want[] = {"SELECT 1"};
    struct got g;
    ck_assert_int_eq(split("DELIMITER $$\nSELECT 1$$\nDELIMITER ;", &g), 0);
    assert_stmts(&g, 1, want);
}
END_TEST

START_TEST(trailing_statement_after_delimiter_change)
{
    static const char *want[] = {"SELECT 1", "SELECT 2"};
    struct got g;
    ck_assert_int_eq(split("DELIMITER $$\nSELECT 1$$\nSELECT 2", &g), 0);
    assert_stmts(&g, 2, want);
}
END_TEST

START_TEST(crlf_line_ends)
{
    static const char *want[] = {"SELECT 1", "BEGIN SELECT 2; END", "SELECT 3"};
    struct got g;
    ck_assert_int_eq(split("SELECT 1;\r\nDELIMITER $$\r\nBEGIN SELECT 2; END$$\r\nDELIMITER ;\r\n"
                           "SELECT 3;\r\n",
                           &g),
                     0);
    assert_stmts(&g, 3, want);
}
END_TEST

/*=== Line numbers and the callback ===*/

START_TEST(line_numbers_of_statements)
{
    struct got g;
    split("SELECT 1;\n\nSELECT\n2;\n  \n\n  SELECT 3;", &g);
    ck_assert_int_eq(g.n, 3);
    ck_assert_int_eq(g.line[0], 1);
    ck_assert_int_eq(g.line[1], 3);
    ck_assert_int_eq(g.line[2], 7);
}
END_TEST

START_TEST(two_statements_on_one_line)
{
    struct got g;
    split("\nSELECT 1; SELECT 2;\nSELECT 3;", &g);
    ck_assert_int_eq(g.n, 3);
    ck_assert_int_eq(g.line[0], 2);
    ck_assert_int_eq(g.line[1], 2);
    ck_assert_int_eq(g.line[2], 3);
}
END_TEST

START_TEST(line_numbers_after_block_comment)
{
    struct got g;
    split("/* one\ntwo\nthree */ SELECT 1;\nSELECT 2;", &g);
    ck_assert_int_eq(g.n, 2);
    ck_assert_int_eq(g.line[1], 4);
}
END_TEST

START_TEST(callback_stop_returned)
{
    struct got g;
    memset(&g, 0, sizeof(g));
    g.stop_after = 2;
    ck_assert_int_eq(sqlscript_split("SELECT 1; SELECT 2; SELECT 3;", 29, collect, &g), 7);
    ck_assert_int_eq(g.n, 2);
}
END_TEST

START_TEST(unterminated_quote_and_comment_do_not_overrun)
{
    struct got g;
    split("SELECT 'abc", &g);
    ck_assert_int_eq(g.n, 1);
    split("SELECT 1 /* abc", &g);
    ck_assert_int_eq(g.n, 1);
    split("SELECT \"abc\\", &g);
    ck_assert_int_eq(g.n, 1);
    split("SELECT 1 --", &g);
    ck_assert_int_eq(g.n, 1);
}
END_TEST

/*=== The shipped files ===*/

static int count_cb(void *ctx, const char *stmt, size_t n, int line)
{
    (void)stmt;
    (void)line;
    ck_assert_uint_gt(n, 0);
    (*(int *)ctx)++;
    return 0;
}

START_TEST(shipped_sql_files_split)
{
    int files = 0;
    for (const struct sql_file *f = sql_files; f->name; f++) {
        int n = 0;
        ck_assert_msg(sqlscript_split(f->text, f->len, count_cb, &n) == 0, "%s does not split",
                      f->name);
        ck_assert_msg(n > 0, "%s has no statement", f->name);
        files++;
    }
    ck_assert_int_gt(files, 0);
}
END_TEST

Suite *sqlscript_suite(void)
{
    Suite *s = suite_create("sqlscript");
    TCase *tc = tcase_create("split");
    tcase_add_test(tc, semicolons_split);
    tcase_add_test(tc, statements_trimmed);
    tcase_add_test(tc, trailing_statement_without_delimiter);
    tcase_add_test(tc, empty_statements_skipped);
    tcase_add_test(tc, empty_script);
    tcase_add_test(tc, length_bounds_the_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("quotes");
    tcase_add_test(tc, single_quotes_do_not_split);
    tcase_add_test(tc, double_quotes_do_not_split);
    tcase_add_test(tc, backticks_do_not_split);
    tcase_add_test(tc, backslash_escaped_quote_inside_string);
    tcase_add_test(tc, doubled_quote_inside_string);
    tcase_add_test(tc, escaped_backslash_ends_string);
    tcase_add_test(tc, other_quotes_inside_quotes);
    tcase_add_test(tc, quoted_newlines_counted);
    suite_add_tcase(s, tc);

    tc = tcase_create("comments");
    tcase_add_test(tc, dash_comment_does_not_split);
    tcase_add_test(tc, hash_comment_does_not_split);
    tcase_add_test(tc, block_comment_does_not_split);
    tcase_add_test(tc, double_dash_without_space_is_not_a_comment);
    tcase_add_test(tc, comment_markers_inside_quotes_ignored);
    tcase_add_test(tc, quotes_inside_comments_ignored);
    suite_add_tcase(s, tc);

    tc = tcase_create("delimiter");
    tcase_add_test(tc, delimiter_sections);
    tcase_add_test(tc, delimiter_lower_case_and_indented);
    tcase_add_test(tc, delimiter_inside_quotes_does_not_split);
    tcase_add_test(tc, delimiter_inside_comments_does_not_split);
    tcase_add_test(tc, delimiter_word_inside_statement_is_not_a_command);
    tcase_add_test(tc, delimiter_line_inside_string_or_comment_is_not_a_command);
    tcase_add_test(tc, delimiter_at_end_without_newline);
    tcase_add_test(tc, trailing_statement_after_delimiter_change);
    tcase_add_test(tc, crlf_line_ends);
    suite_add_tcase(s, tc);

    tc = tcase_create("lines");
    tcase_add_test(tc, line_numbers_of_statements);
    tcase_add_test(tc, two_statements_on_one_line);
    tcase_add_test(tc, line_numbers_after_block_comment);
    tcase_add_test(tc, callback_stop_returned);
    tcase_add_test(tc, unterminated_quote_and_comment_do_not_overrun);
    tcase_add_test(tc, shipped_sql_files_split);
    suite_add_tcase(s, tc);
    return s;
}
