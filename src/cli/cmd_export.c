/* placeholder */
extern int ia_placeholder_cli_cmd_export;
