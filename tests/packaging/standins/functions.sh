# A stand-in for the UCI part of OpenWrt's /lib/functions.sh (package
# base-files), written for the tests: the real file needs the real uci,
# which is in no package registry this project can reach and not on this
# machine. Same names, arguments and results as the real functions (from
# their source, not measured):
#
#  config_load PACKAGE       evaluates "uci -S -n export PACKAGE": each
#                            "config TYPE 'NAME'", "option KEY 'VALUE'" and
#                            "list KEY 'VALUE'" line calls the function of
#                            that name below, and config_cb, option_cb and
#                            list_cb; returns uci's status (1: no such file)
#  config_get VAR SECTION OPTION [DEFAULT]
#                            VAR=the value (a list: its items joined by
#                            LIST_SEP, a space), or DEFAULT when unset; with
#                            2 arguments it prints the value instead
#  config_get_bool VAR SECTION OPTION [DEFAULT]
#                            VAR=1 for 1/on/true/yes/enabled, 0 for
#                            0/off/false/no/disabled, DEFAULT for anything
#                            else (unset included)
#  config_list_foreach SECTION OPTION FUNCTION [ARGS]
#                            FUNCTION ITEM [ARGS] for each item of a list;
#                            an option (not a list) of that name: nothing
#  config_foreach FUNCTION [TYPE [ARGS]], config_set, append, list_contains,
#  reset_cb.
# Values live in CONFIG_<section>_<option> variables, as in the real file.

config_cb() { return 0; }
option_cb() { return 0; }
list_cb() { return 0; }
reset_cb() {
	config_cb() { return 0; }
	option_cb() { return 0; }
	list_cb() { return 0; }
}

append() { # VAR VALUE [SEPARATOR]
	local _append_old _append_sep=${3:- }
	eval "_append_old=\${$1}"
	if [ -n "$_append_old" ] && [ -n "$2" ]; then
		eval "$1=\$_append_old\$_append_sep\$2"
	else
		eval "$1=\$_append_old\$2"
	fi
}

list_contains() { # VAR WORD
	local _lc_words
	eval "_lc_words=\${$1}"
	case " $_lc_words " in *" $2 "*) return 0 ;; esac
	return 1
}

config_set() { # SECTION OPTION VALUE
	eval "CONFIG_${1}_${2}=\$3"
	append CONFIG_VARIABLES "CONFIG_${1}_${2}"
}

package() { return 0; }

config() { # TYPE [NAME]
	CONFIG_NUM_SECTIONS=$((CONFIG_NUM_SECTIONS + 1))
	CONFIG_SECTION=${2:-cfg$CONFIG_NUM_SECTIONS}
	append CONFIG_SECTIONS "$CONFIG_SECTION"
	config_set "$CONFIG_SECTION" TYPE "$1"
	[ -n "$NO_CALLBACK" ] || config_cb "$1" "$CONFIG_SECTION"
}

option() { # KEY VALUE
	local _opt_key=$1
	shift
	config_set "$CONFIG_SECTION" "$_opt_key" "$*"
	[ -n "$NO_CALLBACK" ] || option_cb "$_opt_key" "$*"
}

list() { # KEY VALUE
	local _list_key=$1 _list_n _list_all
	shift
	config_get _list_n "$CONFIG_SECTION" "${_list_key}_LENGTH" 0
	_list_n=$((_list_n + 1))
	config_set "$CONFIG_SECTION" "${_list_key}_ITEM$_list_n" "$*"
	config_set "$CONFIG_SECTION" "${_list_key}_LENGTH" "$_list_n"
	config_get _list_all "$CONFIG_SECTION" "$_list_key"
	append _list_all "$*" "${LIST_SEP:- }"
	config_set "$CONFIG_SECTION" "$_list_key" "$_list_all"
	[ -n "$NO_CALLBACK" ] || list_cb "$_list_key" "$*"
}

config_load() { # PACKAGE
	local _load_data _load_status _load_var
	if [ -z "$CONFIG_APPEND" ]; then
		for _load_var in $CONFIG_VARIABLES; do unset "$_load_var"; done
		CONFIG_VARIABLES=
		CONFIG_SECTIONS=
		CONFIG_NUM_SECTIONS=0
		CONFIG_SECTION=
	fi
	_load_data=$(/sbin/uci ${UCI_CONFIG_DIR:+-c "$UCI_CONFIG_DIR"} -S -n export "$1" 2>/dev/null)
	_load_status=$?
	[ "$_load_status" != 0 ] || [ -z "$_load_data" ] || eval "$_load_data"
	# The real function ends each load with a config_cb without arguments.
	[ -z "$CONFIG_SECTION" ] || [ -n "$NO_CALLBACK" ] || config_cb
	return "$_load_status"
}

config_get() { # VAR SECTION OPTION [DEFAULT], or SECTION OPTION
	# Like the real one: names outside [A-Za-z0-9_] do nothing.
	case "$2${3:-$1}" in *[!A-Za-z0-9_]*) return 0 ;; esac
	if [ -z "$3" ]; then
		eval "printf '%s\n' \"\${CONFIG_${1}_${2}:-\$4}\""
	else
		eval "$1=\${CONFIG_${2}_${3}:-\$4}"
	fi
}

config_get_bool() { # VAR SECTION OPTION [DEFAULT]
	local _bool
	config_get _bool "$2" "$3"
	case "$_bool" in
	1 | on | true | yes | enabled) _bool=1 ;;
	0 | off | false | no | disabled) _bool=0 ;;
	*) _bool=$4 ;;
	esac
	eval "$1=\$_bool"
}

config_list_foreach() { # SECTION OPTION FUNCTION [ARGS]
	[ $# -ge 3 ] || return 0
	local _lf_section=$1 _lf_option=$2 _lf_function=$3 _lf_n _lf_i=1 _lf_item
	shift 3
	config_get _lf_n "$_lf_section" "${_lf_option}_LENGTH"
	[ -n "$_lf_n" ] || return 0
	while [ "$_lf_i" -le "$_lf_n" ]; do
		config_get _lf_item "$_lf_section" "${_lf_option}_ITEM$_lf_i"
		"$_lf_function" "$_lf_item" "$@"
		_lf_i=$((_lf_i + 1))
	done
}

config_foreach() { # FUNCTION [TYPE [ARGS]]
	local _fe_function=$1 _fe_type=$2 _fe_section _fe_t
	[ $# -ge 1 ] && shift
	[ $# -ge 1 ] && shift
	for _fe_section in $CONFIG_SECTIONS; do
		config_get _fe_t "$_fe_section" TYPE
		[ -z "$_fe_type" ] || [ "$_fe_t" = "$_fe_type" ] || continue
		"$_fe_function" "$_fe_section" "$@"
	done
}
