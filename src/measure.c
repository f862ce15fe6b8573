/* placeholder: module under construction */
extern int ia_placeholder_measure;
